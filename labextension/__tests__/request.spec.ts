/** request.ts: URLs, query arguments, and errors turned into RequestError. */
import { RequestError, problemFrom } from '../errors';
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

it("carries nbrepro's error message and status", async () => {
  makeRequest.mockResolvedValue(
    new Response('{"message": "no run abc", "status": 404}', { status: 404 })
  );
  const error = await requestAPI('runs/abc').catch(e => e);
  expect(error).toBeInstanceOf(RequestError);
  expect(error).toMatchObject({ status: 404, message: 'no run abc', fromNbrepro: true });
  expect(problemFrom(error).kind).toBe('not-found');
});

it('tells a missing route (an HTML 404 page) from an unknown run', async () => {
  makeRequest.mockResolvedValue(
    new Response('<html>404: Not Found</html>', { status: 404, statusText: 'Not Found' })
  );
  const error = await requestAPI('version').catch(e => e);
  expect(error).toMatchObject({ status: 404, fromNbrepro: false });
  expect(problemFrom(error).kind).toBe('extension-missing');
});

it('turns a network failure into status 0', async () => {
  makeRequest.mockRejectedValue(new TypeError('Failed to fetch'));
  const error = await requestAPI('version').catch(e => e);
  expect(error).toMatchObject({ status: 0, message: 'Failed to fetch' });
  expect(problemFrom(error)).toMatchObject({ kind: 'network', retry: true });
});

it('maps a 500 to a server error that points at the server log', () => {
  const problem = problemFrom(new RequestError(500, 'KeyError: x', 'runs', true));
  expect(problem.kind).toBe('server-error');
  expect(problem.message).toContain('KeyError: x');
  expect(problem.hint).toContain('log');
});
