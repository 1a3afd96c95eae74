/** Small formatting helpers shared by the components. */

/** "3 minutes ago", counted to ``now`` (ms; default: this moment), and the full local
 * date for a tooltip. */
export function when(
  iso: string | null | undefined,
  now: number = Date.now()
): { human: string; full: string } {
  if (!iso) {
    return { human: '', full: '' };
  }
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return { human: iso, full: iso };
  }
  return { human: relativeTime(date.getTime() - now), full: date.toLocaleString() };
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600 * 1000],
  ['month', 30 * 24 * 3600 * 1000],
  ['day', 24 * 3600 * 1000],
  ['hour', 3600 * 1000],
  ['minute', 60 * 1000],
  ['second', 1000]
];

/** A time difference as JupyterLab's Time.formatHuman says it ("2 minutes ago"), to a
 * given clock rather than to the moment it is called. */
export function relativeTime(deltaMs: number): string {
  const lang = (typeof document !== 'undefined' && document.documentElement.lang) || 'en';
  const formatter = new Intl.RelativeTimeFormat(lang, { numeric: 'auto', style: 'long' });
  for (const [unit, ms] of UNITS) {
    const amount = Math.ceil(deltaMs / ms);
    if (amount !== 0) {
      return formatter.format(amount, unit);
    }
  }
  return formatter.format(0, 'second');
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

/** A path as the sidebar shows it: under the server's home folder as "~/..."; a file://
 * URI by its path; anything else (s3://...) as it is. */
export function homeRelative(text: string, home: string): string {
  const path = text.startsWith('file:///') ? text.slice('file://'.length) : text;
  const root = home.replace(/\/+$/, '');
  if (root && path.startsWith(`${root}/`)) {
    return `~${path.slice(root.length)}`;
  }
  return path === text ? text : path;
}
