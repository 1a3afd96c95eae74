/** The sidebar's settings (schema/plugin.json) and the helpers that read them. */
import type { DataMode, EnvMode } from './api-types';

export interface ReproSettings {
  /** Sent with every request when not empty (a header: see request.ts). */
  trackingUri: string;
  /** The experiment "all runs" lists and Capture run logs to (empty: all / nbrepro's default). */
  defaultExperiment: string;
  /** The MLflow UI, e.g. http://127.0.0.1:5000: enables "Open in MLflow". */
  mlflowUiAddress: string;
  rerunEnv: EnvMode;
  rerunData: DataMode;
  /** The metric shown in the list (empty: the first metric by name). */
  headlineMetric: string;
  pageSize: number;
}

export const DEFAULT_SETTINGS: ReproSettings = {
  trackingUri: '',
  defaultExperiment: '',
  mlflowUiAddress: '',
  rerunEnv: 'current',
  rerunData: 'pinned',
  headlineMetric: '',
  pageSize: 50
};

/** Settings from the registry's composite value, with defaults for what is missing or wrong. */
export function readSettings(composite: { [key: string]: unknown }): ReproSettings {
  const text = (key: keyof ReproSettings): string => {
    const value = composite[key];
    return typeof value === 'string' ? value.trim() : (DEFAULT_SETTINGS[key] as string);
  };
  const size = Number(composite.pageSize);
  return {
    trackingUri: text('trackingUri'),
    defaultExperiment: text('defaultExperiment'),
    mlflowUiAddress: text('mlflowUiAddress'),
    rerunEnv: composite.rerunEnv === 'recorded' ? 'recorded' : 'current',
    rerunData: composite.rerunData === 'latest' ? 'latest' : 'pinned',
    headlineMetric: text('headlineMetric'),
    pageSize: Number.isInteger(size) && size >= 1 && size <= 500 ? size : DEFAULT_SETTINGS.pageSize
  };
}

/** The run's page in the MLflow UI, or null when no address is set. */
export function mlflowRunUrl(address: string, experimentId: string, runId: string): string | null {
  if (!address) {
    return null;
  }
  const base = address.replace(/\/+$/, '');
  return `${base}/#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}`;
}

/** The metric to show for a run: the one named in the settings, else the first by name. */
export function headlineMetric(
  metrics: { [name: string]: number | undefined },
  preferred: string
): { name: string; value: number } | null {
  if (preferred) {
    const value = metrics[preferred];
    return value === undefined ? null : { name: preferred, value };
  }
  const names = Object.keys(metrics).sort();
  for (const name of names) {
    const value = metrics[name];
    if (value !== undefined) {
      return { name, value };
    }
  }
  return null;
}
