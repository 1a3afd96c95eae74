/**
 * What went wrong with a call to nbrepro's server extension, in the user's terms.
 *
 * request.ts turns every failed call into a RequestError; problemFrom() maps it, in
 * this one place, to a Problem the sidebar can show: what happened and what to do.
 */

/** A failed call to `/nbrepro/...`: the HTTP status (0: no answer) and the message. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly endpoint: string,
    /** The body was nbrepro's `{message, status}`: the route exists. */
    readonly fromNbrepro: boolean
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

export function problemFrom(error: unknown): Problem {
  if (!(error instanceof RequestError)) {
    const message = error instanceof Error ? error.message : String(error);
    return { kind: 'server-error', message, hint: '', retry: true, status: null };
  }
  const { status, message } = error;
  const make = (kind: ProblemKind, text: string, hint: string, retry: boolean): Problem => ({
    kind,
    message: text,
    hint,
    retry,
    status
  });
  switch (status) {
    case 0:
      return make(
        'network',
        `No answer from the Jupyter server (${message}).`,
        'Check that JupyterLab is still running, then retry.',
        true
      );
    case 403:
      return make(
        'forbidden',
        `The Jupyter server refused the request: ${message}`,
        'Reload the page to log in again.',
        false
      );
    case 404:
      // Tornado's own 404 page means no route: the server extension is not loaded.
      // nbrepro's JSON 404 means an unknown run or job.
      return error.fromNbrepro
        ? make('not-found', message, 'Refresh the list of runs.', false)
        : make(
            'extension-missing',
            "nbrepro's server extension is not running on this Jupyter server.",
            EXTENSION_HINT,
            true
          );
    case 409:
      return make(
        'kernel',
        message,
        "Start the notebook's kernel (or wait until it is idle) and run the cells you want " +
          'captured, then try again.',
        false
      );
    case 503:
      return make(
        'unreachable',
        error.fromNbrepro ? message : `The MLflow tracking store is unreachable (${message}).`,
        'Start the tracking server or correct the tracking URI (Settings > nbrepro), then retry.',
        true
      );
    case 400:
      return make('bad-request', message, '', false);
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
