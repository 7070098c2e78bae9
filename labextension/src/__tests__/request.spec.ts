import { ServerConnection } from '@jupyterlab/services';

import {
  errorFromReply,
  INSTALL_HINT,
  MaskingAPIError,
  requestAPI
} from '../request';

/** Server settings whose fetch answers from a table and records each URL. */
function settingsAnswering(
  reply: (url: string) => { status: number; body: string } | Error
): { settings: ServerConnection.ISettings; urls: string[] } {
  const urls: string[] = [];
  const fetch = async (input: RequestInfo | URL): Promise<Response> => {
    const url = typeof input === 'string' ? input : (input as Request).url;
    urls.push(url);
    const answer = reply(url);
    if (answer instanceof Error) {
      throw answer;
    }
    return new Response(answer.body, { status: answer.status });
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/alice/',
    fetch: fetch as typeof window.fetch
  });
  return { settings, urls };
}

/** The rejection of a request, typed. */
function failure(promise: Promise<unknown>): Promise<MaskingAPIError> {
  return promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (error: MaskingAPIError) => error
  );
}

describe('requestAPI', () => {
  it('calls <baseUrl>/jupyter-masking/api/<endpoint> and returns the JSON', async () => {
    const { settings, urls } = settingsAnswering(() => ({
      status: 200,
      body: '{"events": []}'
    }));
    await expect(
      requestAPI('events?path=a.ipynb', {}, settings)
    ).resolves.toEqual({
      events: []
    });
    // makeRequest may append a cache-busting number to GETs.
    expect(urls).toHaveLength(1);
    expect(urls[0]).toMatch(
      /^http:\/\/localhost:8888\/user\/alice\/jupyter-masking\/api\/events\?path=a\.ipynb(&\d+)?$/
    );
  });

  it('turns the server JSON error into a typed error with its hint', async () => {
    const { settings } = settingsAnswering(() => ({
      status: 400,
      body: '{"code": "bad_filter", "message": "since is not a date", "hint": "Use ISO 8601."}'
    }));
    const error = await failure(requestAPI('events?since=x', {}, settings));
    expect(error).toBeInstanceOf(MaskingAPIError);
    expect(error).toMatchObject({
      status: 400,
      code: 'bad_filter',
      message: 'since is not a date',
      hint: 'Use ISO 8601.'
    });
    expect(error.notInstalled).toBe(false);
  });

  it('reads a bare 404 as a missing server extension and names the pip command', async () => {
    const { settings } = settingsAnswering(() => ({
      status: 404,
      body: '<html>404: Not Found</html>'
    }));
    const error = await failure(requestAPI('whoami', {}, settings));
    expect(error.notInstalled).toBe(true);
    expect(error.hint).toContain('pip install jupyter-masking');
  });

  it('reports a network failure without throwing a raw TypeError', async () => {
    const { settings } = settingsAnswering(
      () => new TypeError('Failed to fetch')
    );
    const error = await failure(requestAPI('whoami', {}, settings));
    expect(error).toBeInstanceOf(MaskingAPIError);
    expect(error.code).toBe('network');
  });

  it('rejects a 200 reply that is not JSON', async () => {
    const { settings } = settingsAnswering(() => ({
      status: 200,
      body: '<html>'
    }));
    const error = await failure(requestAPI('whoami', {}, settings));
    expect(error.code).toBe('bad_reply');
  });
});

describe('errorFromReply', () => {
  it.each([
    [403, 'forbidden'],
    [500, 'http_error'],
    [502, 'http_error']
  ])('HTTP %p without a JSON body is %p', (status, code) => {
    expect(errorFromReply(status, undefined).code).toBe(code);
  });

  it('a 404 with a JSON body is a real "not found", not a missing extension', () => {
    const error = errorFromReply(404, {
      code: 'not_found',
      message: 'no event ev-9'
    });
    expect(error.notInstalled).toBe(false);
    expect(error.hint).toBeNull();
  });

  it('the install hint names both commands', () => {
    expect(INSTALL_HINT).toContain('pip install jupyter-masking');
    expect(INSTALL_HINT).toContain(
      'jupyter server extension enable jupyter_masking'
    );
  });
});
