/**
 * Bounds on open WebSocket tunnels: at most `max` in all and `maxPerClient` per client (its
 * address, an IPv6 prefix). Each tunnel holds two sockets and their buffers for as long as it
 * lives, so without a bound a few clients could hold every file descriptor. A tunnel counts from
 * the accepted handshake until the client socket closes.
 */
import type { Duplex } from 'node:stream';
import { TooManyTunnelsError } from '../errors.js';

export interface TunnelLimitsOptions {
  max: number;
  maxPerClient: number;
}

export class TunnelLimits {
  readonly #max: number;
  readonly #maxPerClient: number;
  readonly #perClient = new Map<string, number>();
  /** The open tunnels of each user (by name) and each session (by SessionInfo.key), to close them when those change or end. */
  readonly #byUser = new Map<string, Set<Duplex>>();
  readonly #bySession = new Map<string, Set<Duplex>>();
  #open = 0;

  constructor(options: TunnelLimitsOptions) {
    this.#max = options.max;
    this.#maxPerClient = options.maxPerClient;
  }

  get open(): number {
    return this.#open;
  }

  /** Counts a tunnel of `clientKey` until `socket` closes; TooManyTunnelsError (503) when a bound is reached. */
  admit(clientKey: string, socket: Duplex): void {
    if (socket.destroyed) return;
    const mine = this.#perClient.get(clientKey) ?? 0;
    if (this.#open >= this.#max) throw new TooManyTunnelsError(`the gateway has ${this.#max} WebSocket tunnels open (--max-tunnels); try again later`, 5);
    if (mine >= this.#maxPerClient) throw new TooManyTunnelsError(`this client has ${this.#maxPerClient} WebSocket tunnels open (--max-tunnels-per-client)`, 5);
    this.#open++;
    this.#perClient.set(clientKey, mine + 1);
    socket.once('close', () => {
      this.#open--;
      const left = (this.#perClient.get(clientKey) ?? 1) - 1;
      if (left === 0) this.#perClient.delete(clientKey);
      else this.#perClient.set(clientKey, left);
    });
  }

  /**
   * Records whose identity the tunnel on `socket` carries: its user, and its session if it came
   * with the session cookie (the tunnel then also ends when the session does, at the latest at
   * its absolute expiry).
   */
  belongsTo(socket: Duplex, identity: { name: string; session?: { key: string; absoluteExpiresAt: number } }, now: number = Date.now()): void {
    track(this.#byUser, identity.name, socket);
    if (identity.session) {
      track(this.#bySession, identity.session.key, socket);
      const timer = setTimeout(() => socket.destroy(), Math.max(0, identity.session.absoluteExpiresAt - now));
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
  }

  /** Closes the tunnels of these users (every user's when null). */
  closeFor(users: readonly string[] | null): void {
    closeAll(this.#byUser, users);
  }

  /** Closes the tunnels of these sessions (by SessionInfo.key; every session's when null). */
  closeSessions(keys: readonly string[] | null): void {
    closeAll(this.#bySession, keys);
  }
}

function track(index: Map<string, Set<Duplex>>, key: string, socket: Duplex): void {
  let sockets = index.get(key);
  if (!sockets) index.set(key, (sockets = new Set()));
  sockets.add(socket);
  socket.once('close', () => {
    sockets.delete(socket);
    if (sockets.size === 0 && index.get(key) === sockets) index.delete(key);
  });
}

function closeAll(index: Map<string, Set<Duplex>>, keys: readonly string[] | null): void {
  for (const key of keys ?? [...index.keys()]) for (const socket of index.get(key) ?? []) socket.destroy();
}
