/**
 * What went wrong with a call to nbrepro's server extension, in the user's terms.
 *
 * request.ts turns every failed call into a RequestError; problemFrom() maps it, in
 * this one place, to a Problem the sidebar can show: what happened and what to do.
 */
import type { ErrorCode } from './api-types';

/** A failed call to `/nbrepro/...`: the HTTP status (0: no answer) and the message. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly endpoint: string,
    /**
     * The `code` of nbrepro's error body `{message, status, code}`; null when the
     * answer was not that body (no nbrepro route answered: tornado's own 404 page, a
     * proxy's error, no answer at all).
     */
    readonly code: ErrorCode | null
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export type ProblemKind =
  | 'extension-missing'
  | 'version-mismatch'
  | 'unreachable'
  | 'kernel'
  | 'not-found'
  | 'bad-request'
  | 'tracking-uri'
  | 'forbidden'
  | 'network'
  | 'server-error';

export interface Problem {
  kind: ProblemKind;
  /** What happened. */
  message: string;
  /** What to do about it. */
  hint: string;
  /** Whether trying again can help (the sidebar shows a Retry button). */
  retry: boolean;
  status: number | null;
}

const EXTENSION_HINT =
  'Install nbrepro in the Python environment of this Jupyter server (pip install nbrepro), ' +
  'check that `jupyter server extension list` shows "nbrepro enabled, OK", then restart JupyterLab.';

/** What each error code means to the user; null: the code says no more than the status. */
const KIND_OF_CODE: Record<ErrorCode, ProblemKind | null> = {
  'bad-request': 'bad-request',
  'tracking-uri-refused': 'tracking-uri',
  'tracking-uri-not-allowed': 'tracking-uri',
  'run-not-found': 'not-found',
  'job-not-found': 'not-found',
  'not-captured': 'not-found',
  'kernel-not-running': 'kernel',
  'kernel-busy': 'kernel',
  'kernel-call-failed': 'server-error',
  'outside-root': 'server-error',
  'tracking-unavailable': 'unreachable',
  forbidden: 'forbidden',
  'http-error': null,
  internal: 'server-error'
};

/** The kind of problem: from the body's code, else from the HTTP status. */
function kindOf(status: number, code: ErrorCode | null): ProblemKind {
  if (status === 0) {
    return 'network';
  }
  // A code this frontend does not know (a newer server) falls back to the status too.
  const named = code === null ? null : (KIND_OF_CODE[code] ?? null);
  if (named !== null) {
    return named;
  }
  // Tornado's own HTTPError in an nbrepro handler (code http-error), or no nbrepro
  // body at all (code null: an older server, a proxy's error page): the status tells.
  switch (status) {
    case 400:
      return 'bad-request';
    case 403:
      return 'forbidden';
    case 404:
      // No nbrepro body: no route answered, the server extension is not loaded.
      return code === null ? 'extension-missing' : 'not-found';
    case 409:
      return 'kernel';
    case 503:
      return 'unreachable';
    default:
      return 'server-error';
  }
}

export function problemFrom(error: unknown): Problem {
  if (!(error instanceof RequestError)) {
    const message = error instanceof Error ? error.message : String(error);
    return { kind: 'server-error', message, hint: '', retry: true, status: null };
  }
  const { status, message, code } = error;
  const make = (kind: ProblemKind, text: string, hint: string, retry: boolean): Problem => ({
    kind,
    message: text,
    hint,
    retry,
    status
  });
  const kind = kindOf(status, code);
  switch (kind) {
    case 'network':
      return make(
        kind,
        `No answer from the Jupyter server (${message}).`,
        'Check that JupyterLab is still running, then retry.',
        true
      );
    case 'forbidden':
      return make(
        kind,
        `The Jupyter server refused the request: ${message}`,
        'Reload the page to log in again.',
        false
      );
    case 'not-found':
      return make(kind, message, 'Refresh the list of runs.', false);
    case 'extension-missing':
      return make(
        kind,
        "nbrepro's server extension is not running on this Jupyter server.",
        EXTENSION_HINT,
        true
      );
    case 'kernel':
      return make(
        kind,
        message,
        code === 'kernel-busy'
          ? 'Wait until the cell running now is done, then try again.'
          : 'Start its kernel (Kernel > Restart Kernel, or run a cell) and run the cells you ' +
              'want captured, then try again.',
        false
      );
    case 'unreachable':
      return make(
        kind,
        code !== null ? message : `The MLflow tracking store is unreachable (${message}).`,
        'Start the tracking server or correct the tracking URI (Settings > nbrepro), then retry.',
        true
      );
    case 'bad-request':
      return make(kind, message, '', false);
    case 'tracking-uri':
      return make(
        kind,
        message,
        code === 'tracking-uri-not-allowed'
          ? "Clear the tracking URI (Settings > nbrepro) to use the server's store, or ask " +
              "the server's administrator to allow this one."
          : "Correct the tracking URI (Settings > nbrepro), or clear it to use the server's store.",
        false
      );
    default:
      return make(
        'server-error',
        `nbrepro's server extension failed (${status}): ${message}`,
        'The Jupyter server log has the details.',
        true
      );
  }
}

/** The frontend and the server extension come from different nbrepro versions. */
export function versionMismatch(frontend: string, server: string): Problem {
  return {
    kind: 'version-mismatch',
    message:
      `nbrepro's JupyterLab extension is version ${frontend} but its server extension is ` +
      `version ${server}: they must be the same version.`,
    hint:
      'Install one nbrepro version in the Jupyter server\'s environment (pip install "nbrepro==' +
      `${frontend}" or upgrade both), then restart JupyterLab and reload this page.`,
    retry: true,
    status: null
  };
}
