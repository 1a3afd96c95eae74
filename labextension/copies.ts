/**
 * A run's notebook copy (written by "Open captured notebook" or "Open document as
 * captured"): the run it is a copy of, from its metadata, and what its banner says.
 */
import { shortId, when } from './components/format';

/** ``metadata.nbrepro`` of a copy (nbrepro/server/notebook_copy.py copy_context). */
export interface CopyContext {
  run_id: string;
  which: 'replay' | 'document';
  run_name?: string | null;
  captured_at?: string | null;
  saved_at?: string | null;
}

/** The copy's context, when a notebook's metadata names the run it is a copy of. */
export function copyContext(metadata: unknown): CopyContext | null {
  if (typeof metadata !== 'object' || metadata === null) {
    return null;
  }
  const meta = metadata as Record<string, unknown>;
  const runId = meta.run_id;
  const which = meta.which;
  if (typeof runId !== 'string' || (which !== 'replay' && which !== 'document')) {
    return null;
  }
  const text = (key: string) => (typeof meta[key] === 'string' ? (meta[key] as string) : null);
  return {
    run_id: runId,
    which,
    run_name: text('run_name'),
    captured_at: text('captured_at'),
    saved_at: text('saved_at')
  };
}

/** What the banner says, in sentences (also what jest checks). */
export function bannerText(context: CopyContext, now: number = Date.now()): string[] {
  const run = context.run_name
    ? `run ${context.run_name} (${shortId(context.run_id)})`
    : `run ${shortId(context.run_id)}`;
  const captured = context.captured_at
    ? `, captured ${when(context.captured_at, now).human} (${when(context.captured_at, now).full})`
    : '';
  if (context.which === 'replay') {
    return [
      `A copy of ${run}${captured}: the code as the kernel executed it, in execution order.`,
      'No kernel was started: choose one to run it.'
    ];
  }
  const saved = context.saved_at
    ? `as it was saved ${when(context.saved_at, now).human} (${when(context.saved_at, now).full})`
    : 'as it was last saved before the capture';
  return [
    `The notebook of ${run}${captured}, ${saved}.`,
    'The kernel may have run cells edited after that save: the captured code is in ' +
      '"Open captured notebook". No kernel was started.'
  ];
}
