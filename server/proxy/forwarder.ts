/**
 * The streaming forwarder of the /proxy hot path, on undici (Node's own HTTP client): one
 * keep-alive connection pool per upstream origin, request body streamed from the client socket,
 * response body streamed into the client response with back-pressure both ways; nothing is
 * buffered whole.
 *
 * It talks to undici's dispatcher directly (one small handler object per request) rather than
 * through `stream()`: that API needs an AbortSignal per request (EventTarget listeners, ~8 % of
 * the gateway's CPU in a profile) and a Writable factory; here a client that leaves simply calls
 * the controller's `abort`. (Measured: see docs/performance.md.)
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import Agent, { type AgentModule } from 'undici/lib/dispatcher/agent.js';
import { GatewayError } from '../errors.js';
import { clientResponseHeaders } from './headers.js';
import type { GcPacer } from './gc-pacer.js';
import { upstreamError } from './upstream-error.js';

export interface ForwarderOptions {
  /** Upstream headers timeout and body idle timeout, ms. */
  timeoutMs: number;
  /** TCP connect timeout, ms. */
  connectTimeoutMs?: number;
  /** Counts the relayed response bytes (see gc-pacer.ts). */
  pacer: GcPacer;
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

class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection');
  }
}

/** One forwarded exchange: upstream response → client response, settling `done` once. */
class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #resolve: () => void;
  readonly #reject: (err: unknown) => void;
  readonly #pacer: GcPacer;
  readonly #body: Readable | null;
  #controller: Dispatcher.DispatchController | null = null;
  #paused = false;
  #settled = false;
  /** The client closed its connection before the response was complete. */
  #clientGone = false;

  constructor(req: IncomingMessage, res: ServerResponse, body: Readable | null, pacer: GcPacer, resolve: () => void, reject: (err: unknown) => void) {
    this.#req = req;
    this.#body = body;
    this.#pacer = pacer;
    this.#res = res;
    this.#resolve = resolve;
    this.#reject = reject;
    // A client that leaves must not keep an upstream request (and its socket) for the whole timeout.
    res.once('close', this.#onClientClose);
  }

  readonly #onClientClose = (): void => {
    if (this.#res.writableFinished) return;
    this.#clientGone = true;
    this.#controller?.abort(new ClientGoneError());
  };

  readonly #onDrain = (): void => {
    this.#paused = false;
    this.#controller?.resume();
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new ClientGoneError());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // undici passes informational responses (102, 103) here before the final one; the client
    // gets the final response only (as with undici's own stream API): writeHead can run once.
    if (statusCode < 200) return;
    this.#res.writeHead(statusCode, clientResponseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#pacer.relayed(chunk.length);
    if (this.#res.write(chunk) || this.#paused) return;
    this.#paused = true;
    controller.pause();
    this.#res.once('drain', this.#onDrain);
  }

  onResponseEnd(): void {
    this.#res.end();
    this.#settle(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const res = this.#res;
    if (res.headersSent) {
      // The status line is on its way: all we can do is cut the connection.
      res.destroy();
      this.#settle(null);
      return;
    }
    const own = gatewayCause(err);
    if (own) return this.#settle(own);
    // A request stream destroyed after its body was read whole (Node does that) is no sign of a
    // departed client: only one destroyed mid-body is.
    const req = this.#req;
    if (err instanceof ClientGoneError || this.#clientGone || res.destroyed || (req.destroyed && !req.complete)) return this.#settle(null);
    this.#settle(upstreamError(err));
  }

  #settle(err: GatewayError | null): void {
    if (this.#settled) return;
    this.#settled = true;
    // undici leaves the body stream alone when the connection fails: release it (request-body.ts
    // then lets Node discard the rest of the upload).
    if (this.#body && !this.#body.destroyed) this.#body.destroy();
    this.#res.off('close', this.#onClientClose);
    this.#res.off('drain', this.#onDrain);
    if (err) this.#reject(err);
    else this.#resolve();
  }
}

export class Forwarder {
  readonly #agent: AgentModule;
  readonly #pacer: GcPacer;

  constructor(options: ForwarderOptions) {
    this.#pacer = options.pacer;
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
  forward(req: IncomingMessage, res: ServerResponse, upstream: ForwardRequest): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const relay = new ResponseRelay(req, res, upstream.body, this.#pacer, resolve, reject);
      this.#agent.dispatch({ origin: upstream.origin, path: upstream.path, method: req.method as Dispatcher.HttpMethod, headers: upstream.headers, body: upstream.body }, relay);
    });
  }

  /**
   * Called once the server has drained, so no request is in flight: the idle keep-alive sockets
   * are destroyed rather than ended, as an ended socket whose peer is gone may never report its
   * close (and undici's idle sockets do not keep the process alive while it waits).
   */
  close(): Promise<void> {
    return this.#agent.destroy();
  }
}
