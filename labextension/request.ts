/**
 * The one way to call nbrepro's server extension (`<base_url>/nbrepro/...`).
 *
 * Authentication, XSRF and the base URL come from JupyterLab's ServerConnection;
 * a failure is a RequestError carrying the status, the server's message and its code.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { ErrorBody, ErrorCode } from './api-types';
import { RequestError } from './errors';

export type Query = Record<string, string | number | boolean | null | undefined>;

/** An endpoint path from segments, each escaped: `endpoint('runs', id)`. */
export function endpoint(...segments: string[]): string {
  return segments.map(encodeURIComponent).join('/');
}

/**
 * Call an nbrepro endpoint and return its JSON body.
 *
 * @param path - relative to `/nbrepro/`, e.g. `runs` or `endpoint('runs', id)`
 * @param init - fetch options (method, body)
 * @param query - query arguments; null and undefined ones are left out
 */
/** The header that carries the tracking URI override (the sidebar's setting). */
export const TRACKING_URI_HEADER = 'X-Nbrepro-Tracking-Uri';

export async function requestAPI<T>(
  path = '',
  init: RequestInit = {},
  query: Query = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const args: Record<string, string> = {};
  const headers = new Headers(init.headers);
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined) {
      continue;
    }
    if (key === 'tracking_uri') {
      // A header, not the URL: URLs land in the server's request log, credentials too.
      headers.set(TRACKING_URI_HEADER, String(value));
    } else {
      args[key] = String(value);
    }
  }
  const url = URLExt.join(settings.baseUrl, 'nbrepro', path) + URLExt.objectToQueryString(args);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, { ...init, headers }, settings);
  } catch (error) {
    throw new RequestError(0, error instanceof Error ? error.message : String(error), path, null);
  }

  const text = await response.text();
  let body: unknown = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text; // an HTML error page: no nbrepro route answered
    }
  }
  if (!response.ok) {
    const { message, code } = errorOf(response, body);
    throw new RequestError(response.status, message, path, code);
  }
  return body as T;
}

/**
 * The message and code of an error answer. nbrepro's body is `{message, status, code}`;
 * an older nbrepro's lacks `code` (an nbrepro route answered all the same); anything
 * else means no nbrepro route answered (tornado's own 404 page, a proxy): code null.
 */
function errorOf(response: Response, body: unknown): { message: string; code: ErrorCode | null } {
  const fields: { [key in keyof ErrorBody]?: unknown } =
    typeof body === 'object' && body !== null ? body : {};
  const older = typeof fields.message === 'string' && typeof fields.status === 'number';
  return {
    // A code this frontend does not know yet (a newer server) is kept: problemFrom()
    // falls back to the status for it, as for an older server's body.
    code:
      typeof fields.code === 'string' ? (fields.code as ErrorCode) : older ? 'http-error' : null,
    message:
      typeof fields.message === 'string'
        ? fields.message
        : response.statusText || `HTTP ${response.status}`
  };
}
