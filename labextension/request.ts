/**
 * The one way to call nbrepro's server extension (`<base_url>/nbrepro/...`).
 *
 * Authentication, XSRF and the base URL come from JupyterLab's ServerConnection;
 * a failure is a RequestError carrying the status and the server's message.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

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
    throw new RequestError(0, error instanceof Error ? error.message : String(error), path, false);
  }

  const text = await response.text();
  let body: unknown = null;
  let isJson = false;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
      isJson = true;
    } catch {
      body = text; // an HTML error page: no nbrepro route answered
    }
  }
  if (!response.ok) {
    const fromNbrepro =
      isJson && typeof body === 'object' && body !== null && 'message' in body && 'status' in body;
    const message = fromNbrepro
      ? String((body as { message: unknown }).message)
      : response.statusText || `HTTP ${response.status}`;
    throw new RequestError(response.status, message, path, fromNbrepro);
  }
  return body as T;
}
