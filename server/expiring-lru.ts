/**
 * A bounded map whose entries expire: the least recently used entry goes first when full, and an
 * expired entry is never returned. Serves the credential cache and the token cache alike.
 */
interface Slot<V> {
  value: V;
  /** ms since epoch; the entry is stale from then on. */
  expiresAt: number;
}

export class ExpiringLru<V> {
  readonly #max: number;
  readonly #map = new Map<string, Slot<V>>();

  constructor(maxEntries: number) {
    this.#max = maxEntries;
  }

  /** The value if present and fresh at `now`, marked as recently used; a stale one is dropped. */
  get(key: string, now: number): V | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    this.#map.delete(key);
    if (slot.expiresAt <= now) return undefined;
    this.#map.set(key, slot);
    return slot.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    this.#map.delete(key);
    if (this.#map.size >= this.#max) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(key, { value, expiresAt });
  }

  /** Drops the entry, only while it still holds `value` when one is given. */
  delete(key: string, value?: V): void {
    if (value === undefined || this.#map.get(key)?.value === value) this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  /** Drops every entry whose value matches (a scan: for rare events, such as a user change). */
  deleteWhere(matches: (value: V) => boolean): void {
    for (const [key, slot] of this.#map) if (matches(slot.value)) this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }
}
