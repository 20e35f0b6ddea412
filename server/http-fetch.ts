/**
 * A `fetch` built on `node:http`/`node:https` with a keep-alive agent, for upstream MCP traffic and
 * (with the SSRF guard's `lookup`) the OAuth engine's requests.
 *
 * Why not the global fetch: undici's fetch implements the whole Fetch standard (request and
 * response cloning, the fetch controller, body mixins over web streams) and on this workload spends
 * several times the CPU of the request itself (bench/README.md, "latency"). Upstream traffic needs
 * little of that: one request, headers, a body that is a string or bytes, a streamed response that
 * may be an SSE stream, cancellation, and the caller's redirect policy. For the OAuth engine's
 * requests the reason is different: its `lookup` lets the SSRF guard pin the checked address.
 *
 * What it does not do: cookies, caching, content decoding (it never sends `accept-encoding`, so a
 * compliant server answers with the identity encoding), `redirect: 'follow'` across protocols
 * other than http(s).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';

/** The part of `fetch` Gatehouse's HTTP callers use; the global fetch and this module's both fit. */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface HttpFetch {
  fetch: FetchLike;
  /** Destroys the agents' sockets, idle or in use: call it once nothing is sent any more. */
  close(): void;
}

/** Fetch standard §4.4: at most 20 redirects are followed. */
const MAX_REDIRECTS = 20;
/** Statuses whose Response must not have a body (Fetch standard, "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export interface HttpFetchOptions {
  /**
   * Resolves host names for every connection (node's `lookup` signature). The SSRF guard passes one
   * that checks the addresses it returns, so the address connected to is the address checked.
   */
  lookup?: LookupFunction;
}

export function createHttpFetch(options: HttpFetchOptions = {}): HttpFetch {
  const lookup = options.lookup ? { lookup: options.lookup } : {};
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, ...lookup }),
    'https:': new HttpsAgent({ keepAlive: true, ...lookup }),
  };

  const fetchOnce = async (url: URL, init: RequestInit, body: Buffer | undefined): Promise<Response> => {
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();
    const protocol = url.protocol;
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw new TypeError(`fetch: unsupported protocol ${protocol}`);
    }
    const headers = toHeaderObject(init.headers);
    if (body !== undefined) headers['content-length'] = String(body.length);
    const send = protocol === 'https:' ? httpsRequest : httpRequest;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, {
        method: init.method ?? 'GET',
        headers,
        agent: agents[protocol],
        signal,
      });
      req.once('response', resolve);
      req.once('error', (error) => reject(signal?.aborted ? signal.reason : toTypeError(error)));
      req.end(body);
    });
    const status = response.statusCode ?? 0;
    const responseHeaders = new Headers();
    const raw = response.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) responseHeaders.append(raw[i]!, raw[i + 1]!);
    if (NULL_BODY.has(status) || init.method === 'HEAD') {
      response.resume();
      return new Response(null, { status, statusText: response.statusMessage, headers: responseHeaders });
    }
    // An abort after the headers errors the body with the signal's reason, as the global fetch
    // does (node:http would report a bare ECONNRESET).
    response.once('error', () => undefined);
    if (signal) {
      const onAbort = () => response.destroy(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      response.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return new Response(Readable.toWeb(response) as ReadableStream<Uint8Array>, {
      status,
      statusText: response.statusMessage,
      headers: responseHeaders,
    });
  };

  const fetch: FetchLike = async (input, requestInit = {}) => {
    let init = requestInit;
    let url = new URL(String(input));
    let method = (init.method ?? 'GET').toUpperCase();
    const encoded = await encodeBody(init.body);
    let body = encoded?.bytes;
    if (encoded?.type && !new Headers(init.headers).has('content-type')) {
      init = { ...init, headers: { ...toHeaderObject(init.headers), 'content-type': encoded.type } };
    }
    const redirect = init.redirect ?? 'follow';
    for (let hops = 0; ; hops++) {
      const response = await fetchOnce(url, { ...init, method }, body);
      const location = response.headers.get('location');
      if (!isRedirect(response.status) || location === null || redirect === 'manual') return response;
      await response.body?.cancel();
      if (redirect === 'error') throw new TypeError(`fetch: redirect to ${location} refused`);
      if (hops >= MAX_REDIRECTS) throw new TypeError('fetch: too many redirects');
      const hop = redirectHop(response, url, method);
      if (hop === undefined) throw new TypeError('fetch: the redirect location is not a URL');
      if (hop.dropsBody) {
        body = undefined;
        init = { ...init, headers: without(init.headers, BODY_HEADERS) };
      }
      if (hop.crossOrigin) init = { ...init, headers: without(init.headers, ['authorization', 'cookie']) };
      method = hop.method;
      url = hop.url;
    }
  };

  return {
    fetch,
    close: () => {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

/** Request-body headers (Fetch standard, "request-body-header name"). */
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'];

function without(headers: HeadersInit | undefined, names: readonly string[]): Record<string, string> {
  const out = toHeaderObject(headers);
  for (const name of names) delete out[name];
  return out;
}

/** Fetch standard: a "redirect status". */
export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Where a redirect leads, and how the request changes on the way (Fetch standard §4.4). */
export interface RedirectHop {
  url: URL;
  method: string;
  /** Step 12: 303, and 301/302 after POST, continue as GET without the body and its headers. */
  dropsBody: boolean;
  /** Step 13: credentials (authorization, cookies) never follow a redirect to another origin. */
  crossOrigin: boolean;
}

/**
 * The next request of a redirect chain, for this module's fetch and for the callers that follow
 * redirects by their own policy (the Streamable HTTP client: within the endpoint's origin only).
 * Undefined when `response` is no redirect or its Location is not a URL.
 * @see https://fetch.spec.whatwg.org/#http-redirect-fetch
 */
export function redirectHop(response: Response, from: URL, method: string): RedirectHop | undefined {
  if (!isRedirect(response.status)) return undefined;
  const location = response.headers.get('location');
  if (location === null) return undefined;
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    return undefined;
  }
  const status = response.status;
  const dropsBody = status === 303 || ((status === 301 || status === 302) && method === 'POST');
  return {
    url,
    method: dropsBody && method !== 'HEAD' ? 'GET' : method,
    dropsBody,
    crossOrigin: url.origin !== from.origin,
  };
}

function toHeaderObject(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!init) return out;
  new Headers(init).forEach((value, key) => (out[key] = value));
  return out;
}

/**
 * The body as bytes, with the content type the platform derives for URLSearchParams, Blob and
 * FormData bodies. Strings and bytes get none (the Fetch standard would say text/plain): every
 * caller here sets its own.
 */
async function encodeBody(
  body: BodyInit | null | undefined,
): Promise<{ bytes: Buffer; type?: string } | undefined> {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8') };
  if (body instanceof ArrayBuffer) return { bytes: Buffer.from(body) };
  if (ArrayBuffer.isView(body)) return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength) };
  // URLSearchParams, Blob, FormData, streams: let the platform serialize them.
  const encoded = new Response(body);
  const bytes = Buffer.from(await encoded.arrayBuffer());
  return { bytes, type: encoded.headers.get('content-type') ?? undefined };
}

function toTypeError(error: Error): TypeError {
  return new TypeError('fetch failed', { cause: error });
}
