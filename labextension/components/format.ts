/** Small formatting helpers shared by the components. */
import { Time } from '@jupyterlab/coreutils';

/** "3 minutes ago", and the full local date for a tooltip. */
export function when(iso: string | null | undefined): { human: string; full: string } {
  if (!iso) {
    return { human: '', full: '' };
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return { human: iso, full: iso };
  }
  return { human: Time.formatHuman(date), full: date.toLocaleString() };
}

export function formatNumber(value: number | string | null | undefined): string {
  if (typeof value !== 'number') {
    return value === null || value === undefined ? '–' : String(value);
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e6
    ? String(Number(value.toPrecision(6)))
    : value.toExponential(4);
}

export function formatBytes(bytes: number | null | undefined): string {
  if (!bytes) {
    return '?';
  }
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function shortId(runId: string): string {
  return runId.slice(0, 8);
}

/** The last path component: a notebook's file name. */
export function basename(path: string): string {
  return path.split('/').pop() || path;
}
