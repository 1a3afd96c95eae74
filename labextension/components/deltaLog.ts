/**
 * What a Delta table's log says moved between two versions, and whether a version can
 * still be pinned, in the sidebar's words (nbrepro/capture/delta/changes.py says the
 * same for the command line).
 */
import type {
  DeltaCommit,
  DeltaLogChanges,
  Job,
  JobErrorReason,
  PinCheck,
  PinProblemKind,
  UnavailableTable
} from '../api-types';
import { plural } from './format';

/** "WRITE append", "DELETE": an operation, with a write's mode. */
export function operationLabel(commit: Pick<DeltaCommit, 'operation' | 'mode'>): string {
  return commit.mode ? `${commit.operation} ${commit.mode.toLowerCase()}` : commit.operation;
}

/** "+58 rows", "+7 −10 rows", "rows unchanged", "+7 rows, rows removed unknown". */
export function amounts(
  added: number | null | undefined,
  removed: number | null | undefined,
  noun: string
): string {
  const nouns = `${noun}s`;
  if ((added ?? null) === null && (removed ?? null) === null) {
    return `${nouns} added and removed unknown`;
  }
  if (added === 0 && removed === 0) {
    return `${nouns} unchanged`;
  }
  const numbers: string[] = [];
  if (added) {
    numbers.push(`+${added}`);
  }
  if (removed) {
    numbers.push(`−${removed}`);
  }
  const said: string[] = [];
  if (numbers.length > 0) {
    const one = numbers.length === 1 && (added || removed) === 1;
    said.push(`${numbers.join(' ')} ${one ? noun : nouns}`);
  }
  if ((added ?? null) === null) {
    said.push(`${nouns} added unknown`);
  }
  if ((removed ?? null) === null) {
    said.push(`${nouns} removed unknown`);
  }
  return said.join(', ');
}

/** The operations of the commits, counted: "WRITE append", "2× WRITE append, DELETE". */
function operations(commits: DeltaCommit[]): string {
  const counts = new Map<string, number>();
  for (const commit of commits) {
    const label = operationLabel(commit);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts.entries()].map(([op, n]) => (n > 1 ? `${n}× ${op}` : op)).join(', ');
}

/** "v0 → v1: 1 commit (WRITE append), +58 rows, +1 file". */
export function changesSummary(changes: DeltaLogChanges): string {
  const head = `v${changes.from_version} → v${changes.to_version}`;
  const ops = operations(changes.commits);
  const parts = [plural(changes.commits_between, 'commit') + (ops ? ` (${ops})` : '')];
  if (changes.commits.length > 0 || !changes.note) {
    parts.push(amounts(changes.rows_added, changes.rows_removed, 'row'));
    parts.push(amounts(changes.files_added, changes.files_removed, 'file'));
    if (changes.rows_updated) {
      parts.push(`${plural(changes.rows_updated, 'row')} updated`);
    }
  }
  return `${head}: ${parts.join(', ')}`;
}

/** One commit of the list: "v1 · WRITE append · +58 rows, +1 file". */
export function commitLine(commit: DeltaCommit): string {
  const rows = amounts(commit.rows_added, commit.rows_removed, 'row');
  const files = amounts(commit.files_added, commit.files_removed, 'file');
  const updated = commit.rows_updated ? `, ${plural(commit.rows_updated, 'row')} updated` : '';
  return `v${commit.version} · ${operationLabel(commit)} · ${rows}, ${files}${updated}`;
}

/** Why a version cannot be pinned, in a few words ("vacuumed"). */
const WHY_UNPINNABLE: Partial<Record<PinProblemKind, string>> = {
  files_missing: 'vacuumed (its data files were deleted)',
  version_unavailable: 'its log entries were cleaned up',
  table_replaced: 'the table was re-created',
  table_missing: 'the table is gone'
};

/** "v0 can no longer be read: vacuumed (...)"; null when it can be, or nobody knows. */
export function pinLostText(version: number, pin: PinCheck | undefined): string | null {
  if (!pin || pin.readable !== false) {
    return null;
  }
  const why = (pin.reason && WHY_UNPINNABLE[pin.reason]) || 'it cannot be read as it was';
  return `v${version} can no longer be read: ${why}`;
}

function tableName(table: UnavailableTable): string {
  return table.uri.replace(/\/+$/, '').split('/').pop() || table.uri;
}

/**
 * What the sidebar says of a rerun that could not read its data, and whether it offers
 * "Re-execute on latest data": from the job's error_reason, never from its message (the
 * command line's words, with its flags).
 */
export function dataProblem(
  job: Pick<Job, 'state'> & { error_reason?: JobErrorReason | null }
): { message: string; latest: boolean } | null {
  const reason = job.error_reason;
  if (job.state !== 'failed' || !reason) {
    return null;
  }
  const said = reason.tables.map(table => {
    const why = WHY_UNPINNABLE[table.kind] ?? 'it cannot be read as it was';
    return table.kind === 'table_missing'
      ? `${tableName(table)} is gone: there is no Delta table at ${table.uri} any more`
      : `${tableName(table)} v${table.version} can no longer be read: ${why}`;
  });
  const tables = said.length > 0 ? `${said.join('; ')}.` : '';
  if (reason.code === 'pinned-data-unavailable') {
    return {
      message:
        `The data this run read at its pinned versions is no longer there: ${tables} ` +
        "Re-execute on the tables' latest data instead; the report then shows what moved.",
      latest: true
    };
  }
  return {
    message:
      `A table this run read is gone, so no re-execution can read it: ${tables} ` +
      'Restore the table at its location to re-execute this run.',
    latest: false
  };
}
