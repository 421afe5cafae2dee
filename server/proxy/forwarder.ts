/**
 * The streaming forwarder of the /proxy hot path, on undici (Node's own HTTP client): one
 * keep-alive connection pool per upstream origin, request body streamed from the client socket,
 * response body streamed into the client response with back-pressure both ways; nothing is
 * buffered whole. (Measured: several times the throughput of http-proxy-middleware on this
 * path; see README "Performance".)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import { GatewayError } from '../errors.js';
import { clientResponseHeaders } from './headers.js';
import { upstreamError } from './status-code.js';

export interface ForwarderOptions {
  /** Upstream headers timeout and body idle timeout, ms. */
  timeoutMs: number;
  /** TCP connect timeout, ms. */
  connectTimeoutMs?: number;
}

export interface ForwardRequest {
  origin: string;
  path: string;
  headers: string[];
  /** The request body stream, or null for none. */
  body: Readable | null;
}

/** A GatewayError behind an undici failure (e.g. the body limit cutting the upload). */
function gatewayCause(err: unknown): GatewayError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof GatewayError) return e;
  }
  return undefined;
}

export class Forwarder {
  readonly #agent: Agent;

  constructor(options: ForwarderOptions) {
    this.#agent = new Agent({
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: { timeout: options.connectTimeoutMs ?? Math.min(options.timeoutMs, 10_000) },
      keepAliveTimeout: 4_000,
      pipelining: 1,
    });
  }

  /**
   * Sends the request upstream and streams the answer to `res`. Rejects with a 502/504
   * GatewayError when the upstream fails before the response started; after that, the client
   * connection is cut (the status line is already on its way).
   */
  async forward(req: IncomingMessage, res: ServerResponse, upstream: ForwardRequest): Promise<void> {
    // A client that leaves must not keep an upstream request (and its socket) for the whole timeout.
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    try {
      await this.#agent.stream(
        {
          origin: upstream.origin,
          path: upstream.path,
          method: req.method as 'GET',
          headers: upstream.headers,
          body: upstream.body,
          signal: abort.signal,
          opaque: res,
        },
        ({ statusCode, headers, opaque }) => {
          const response = opaque as ServerResponse;
          response.writeHead(statusCode, clientResponseHeaders(headers));
          return response;
        },
      );
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const own = gatewayCause(err);
      if (own) throw own;
      if (req.destroyed || res.destroyed || abort.signal.aborted) return;
      throw upstreamError(err);
    } finally {
      res.off('close', onClose);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}
