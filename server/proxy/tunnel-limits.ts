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
  /** The open tunnels of each user (by name), to close them when the user changes. */
  readonly #byUser = new Map<string, Set<Duplex>>();
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

  /** Records whose identity the tunnel on `socket` carries. */
  belongsTo(socket: Duplex, user: string): void {
    let sockets = this.#byUser.get(user);
    if (!sockets) this.#byUser.set(user, (sockets = new Set()));
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0 && this.#byUser.get(user) === sockets) this.#byUser.delete(user);
    });
  }

  /** Closes the tunnels of these users (every user's when null). */
  closeFor(users: readonly string[] | null): void {
    const names = users ?? [...this.#byUser.keys()];
    for (const name of names) for (const socket of this.#byUser.get(name) ?? []) socket.destroy();
  }
}
