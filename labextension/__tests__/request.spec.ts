/** request.ts: URLs, query arguments, and errors turned into RequestError. */
import type { ErrorCode } from '../api-types';
import { ProblemKind, RequestError, problemFrom } from '../errors';
import { endpoint, requestAPI, TRACKING_URI_HEADER } from '../request';

const makeRequest = jest.fn();

// The real modules are ES modules Jest does not load; request.ts only needs these.
jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeSettings: () => ({ baseUrl: 'http://127.0.0.1:8888/base/' }),
    makeRequest: (...args: unknown[]) => makeRequest(...args)
  }
}));
jest.mock('@jupyterlab/coreutils', () => ({
  URLExt: {
    join: (...parts: string[]) => parts.map(p => p.replace(/^\/+|\/+$/g, '')).join('/'),
    objectToQueryString: (args: Record<string, string>) => {
      const text = new URLSearchParams(args).toString();
      return text ? `?${text}` : '';
    }
  }
}));

afterEach(() => makeRequest.mockReset());

it('calls <base_url>/nbrepro/<endpoint> with the query, leaving out empty arguments', async () => {
  makeRequest.mockResolvedValue(new Response('{"runs": [], "next_page_token": null}'));
  const body = await requestAPI<{ runs: unknown[] }>(
    'runs',
    {},
    {
      notebook: 'a b.ipynb',
      page_token: null,
      experiment: undefined,
      max_results: 50
    }
  );
  expect(body.runs).toEqual([]);
  expect(makeRequest.mock.calls[0][0]).toBe(
    'http://127.0.0.1:8888/base/nbrepro/runs?notebook=a+b.ipynb&max_results=50'
  );
});

it('sends the tracking URI override as a header, never in the logged URL', async () => {
  makeRequest.mockResolvedValue(new Response('{"jobs": []}'));
  await requestAPI(
    'reruns',
    { method: 'GET' },
    { run_id: 'a'.repeat(32), tracking_uri: 'https://user:secret@mlflow.example' }
  );
  const [url, init] = makeRequest.mock.calls[0];
  expect(url).not.toContain('secret');
  expect(url).toBe(`http://127.0.0.1:8888/base/nbrepro/reruns?run_id=${'a'.repeat(32)}`);
  expect(new Headers(init.headers).get(TRACKING_URI_HEADER)).toBe(
    'https://user:secret@mlflow.example'
  );
});

it('escapes each endpoint segment', () => {
  expect(endpoint('runs', 'a/b', 'environment')).toBe('runs/a%2Fb/environment');
});

it("carries nbrepro's error message, status and code", async () => {
  makeRequest.mockResolvedValue(
    new Response('{"message": "no run abc", "status": 404, "code": "run-not-found"}', {
      status: 404
    })
  );
  const error = await requestAPI('runs/abc').catch(e => e);
  expect(error).toBeInstanceOf(RequestError);
  expect(error).toMatchObject({ status: 404, message: 'no run abc', code: 'run-not-found' });
  expect(problemFrom(error)).toMatchObject({
    kind: 'not-found',
    message: 'no run abc',
    hint: 'Refresh the list of runs.',
    retry: false
  });
});

it('tells a missing route (an HTML 404 page) from an unknown run', async () => {
  makeRequest.mockResolvedValue(
    new Response('<html>404: Not Found</html>', { status: 404, statusText: 'Not Found' })
  );
  const error = await requestAPI('version').catch(e => e);
  expect(error).toMatchObject({ status: 404, message: 'Not Found', code: null });
  expect(problemFrom(error)).toMatchObject({ kind: 'extension-missing', retry: true });
});

it("takes jupyter_server's JSON 404 without a code for a missing route", async () => {
  makeRequest.mockResolvedValue(
    new Response('{"message": "Not Found", "reason": null}', { status: 404 })
  );
  const error = await requestAPI('version').catch(e => e);
  expect(error).toMatchObject({ status: 404, message: 'Not Found', code: null });
  expect(problemFrom(error).kind).toBe('extension-missing');
});

it("takes an older nbrepro's 404 body (no code) for an unknown run", async () => {
  makeRequest.mockResolvedValue(
    new Response('{"message": "no run 00 in the tracking store x", "status": 404}', {
      status: 404
    })
  );
  const error = await requestAPI('runs/00').catch(e => e);
  expect(error).toMatchObject({ status: 404, code: 'http-error' });
  expect(problemFrom(error)).toMatchObject({ kind: 'not-found', retry: false });
});

it('turns a network failure into status 0', async () => {
  makeRequest.mockRejectedValue(new TypeError('Failed to fetch'));
  const error = await requestAPI('version').catch(e => e);
  expect(error).toMatchObject({ status: 0, message: 'Failed to fetch', code: null });
  expect(problemFrom(error)).toMatchObject({ kind: 'network', retry: true });
});

describe('problemFrom', () => {
  const problem = (status: number, code: ErrorCode | null, message = 'why') =>
    problemFrom(new RequestError(status, message, 'runs', code));

  it.each<[number, ErrorCode, ProblemKind]>([
    [404, 'run-not-found', 'not-found'],
    [404, 'job-not-found', 'not-found'],
    [404, 'not-captured', 'not-found'],
    [409, 'kernel-busy', 'kernel'],
    [409, 'kernel-not-running', 'kernel'],
    [503, 'tracking-unavailable', 'unreachable'],
    [400, 'bad-request', 'bad-request'],
    [400, 'tracking-uri-refused', 'tracking-uri'],
    [403, 'tracking-uri-not-allowed', 'tracking-uri'],
    [403, 'forbidden', 'forbidden'],
    [500, 'internal', 'server-error'],
    [500, 'kernel-call-failed', 'server-error'],
    [500, 'outside-root', 'server-error']
  ])('maps a %i with code %s to %s', (status, code, kind) => {
    expect(problem(status, code).kind).toBe(kind);
  });

  it('maps a 404 without a code (no nbrepro route answered) to extension-missing', () => {
    expect(problem(404, null)).toMatchObject({
      kind: 'extension-missing',
      message: "nbrepro's server extension is not running on this Jupyter server.",
      retry: true
    });
    expect(problem(404, null).hint).toContain('pip install nbrepro');
  });

  it("keeps nbrepro's message for tracking-unavailable and says it for a bare 503", () => {
    expect(problem(503, 'tracking-unavailable', 'cannot reach http://x')).toMatchObject({
      kind: 'unreachable',
      message: 'cannot reach http://x',
      retry: true
    });
    expect(problem(503, null, 'Service Unavailable')).toMatchObject({
      kind: 'unreachable',
      message: 'The MLflow tracking store is unreachable (Service Unavailable).'
    });
  });

  it('points a refused tracking store to the setting, not to logging in again', () => {
    expect(problem(403, 'tracking-uri-not-allowed', 'not allowed')).toMatchObject({
      kind: 'tracking-uri',
      message: 'not allowed',
      retry: false
    });
    expect(problem(403, 'tracking-uri-not-allowed').hint).toContain('administrator');
    expect(problem(400, 'tracking-uri-refused').hint).toContain('Settings > nbrepro');
  });

  it('tells a busy kernel to wait, without a retry', () => {
    expect(problem(409, 'kernel-busy', 'the kernel is busy')).toMatchObject({
      kind: 'kernel',
      message: 'the kernel is busy',
      retry: false
    });
    expect(problem(409, 'kernel-busy').hint).toContain('Wait until the cell running now is done');
  });

  it("falls back to the status for tornado's own errors (http-error)", () => {
    expect(problem(404, 'http-error').kind).toBe('not-found');
    expect(problem(400, 'http-error').kind).toBe('bad-request');
    expect(problem(405, 'http-error').kind).toBe('server-error');
  });

  it('falls back to the status without a code (an older server, a proxy)', () => {
    expect(problem(403, null).kind).toBe('forbidden');
    expect(problem(409, null).kind).toBe('kernel');
    expect(problem(400, null).kind).toBe('bad-request');
    expect(problem(502, null).kind).toBe('server-error');
  });

  it('maps a code it does not know (a newer server) by its status, the route found', () => {
    expect(problem(404, 'gone-fishing' as ErrorCode).kind).toBe('not-found');
    expect(problem(500, 'gone-fishing' as ErrorCode).kind).toBe('server-error');
  });

  it('maps a 500 to a server error that points at the server log', () => {
    const p = problem(500, 'internal', 'KeyError: x');
    expect(p.kind).toBe('server-error');
    expect(p.message).toBe("nbrepro's server extension failed (500): KeyError: x");
    expect(p.hint).toContain('log');
  });
});
