/**
 * The streaming forwarder of the /proxy hot path, on undici (Node's own HTTP client): one
 * keep-alive connection pool per upstream origin, request body streamed from the client socket,
 * response body streamed into the client response with back-pressure both ways; nothing is
 * buffered whole. (Measured: several times the throughput of http-proxy-middleware on this
 * path; see README "Performance".)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent } from 'undici';
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
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
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
    try {
      await this.#agent.stream(
        {
          origin: upstream.origin,
          path: upstream.path,
          method: req.method as 'GET',
          headers: upstream.headers,
          body: hasBody(req) ? req : null,
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
      if (req.destroyed || res.destroyed) return;
      throw upstreamError(err);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}
