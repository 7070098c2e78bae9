/**
 * The one path to the server: `requestAPI<T>()` and its typed error.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_NAMESPACE } from './tokens';

/** What fixes a missing server extension; shown verbatim in the sidebar. */
export const INSTALL_HINT =
  'Install it in the environment that runs Jupyter: pip install jupyter-masking, ' +
  'then jupyter server extension enable jupyter_masking, and restart Jupyter.';

/** A failed call to the jupyter-masking REST API, with the server's `{code, message, hint}`. */
export class MaskingAPIError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | null = null
  ) {
    super(message);
    this.name = 'MaskingAPIError';
  }

  /** True when the server has no jupyter-masking extension at all. */
  get notInstalled(): boolean {
    return this.code === 'not_installed';
  }
}

/**
 * Call the jupyter-masking REST API.
 *
 * @param endPoint - path under `<baseUrl>/jupyter-masking/api/`, with its query string
 * @param init - the fetch options
 * @param serverSettings - the server settings of the running app (never a global default)
 * @returns the parsed JSON reply
 * @throws MaskingAPIError on a network failure, a non-2xx reply or a reply that is not JSON
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit,
  serverSettings: ServerConnection.ISettings
): Promise<T> {
  const url = URLExt.join(
    serverSettings.baseUrl,
    API_NAMESPACE,
    'api',
    endPoint
  );
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, serverSettings);
  } catch {
    throw new MaskingAPIError(
      0,
      'network',
      'Cannot reach the Jupyter server.',
      'Check that Jupyter is still running, then refresh the sidebar.'
    );
  }
  const text = await response.text();
  const body = parseJSON(text);
  if (!response.ok) {
    throw errorFromReply(response.status, body);
  }
  if (body === undefined) {
    throw new MaskingAPIError(
      response.status,
      'bad_reply',
      'The server sent a reply that is not JSON.',
      null
    );
  }
  return body as T;
}

/** Turn a non-2xx reply into a `MaskingAPIError`; a bare 404 means the extension is missing. */
export function errorFromReply(status: number, body: unknown): MaskingAPIError {
  if (isErrorBody(body)) {
    return new MaskingAPIError(
      status,
      body.code,
      body.message,
      body.hint ?? null
    );
  }
  if (status === 404) {
    return new MaskingAPIError(
      404,
      'not_installed',
      'The jupyter-masking server extension is not running in this Jupyter server.',
      INSTALL_HINT
    );
  }
  if (status === 403) {
    return new MaskingAPIError(
      403,
      'forbidden',
      'The Jupyter server refused the request.',
      'Reload the page to sign in again.'
    );
  }
  return new MaskingAPIError(
    status,
    'http_error',
    `The server answered HTTP ${status}.`,
    null
  );
}

function parseJSON(text: string): unknown {
  if (!text) {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isErrorBody(
  body: unknown
): body is { code: string; message: string; hint?: string | null } {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { code?: unknown }).code === 'string' &&
    typeof (body as { message?: unknown }).message === 'string'
  );
}
