/**
 * The store holds all shared state (users, proxy target, keys) so that several processes (the
 * server and the CLI today, several replicas with a Redis backend later) see the same thing.
 * Every method is async so that a networked backend fits the same interface. Every write bumps
 * `revision`, which a running server polls to notice changes made by another process.
 */
export interface UserRecord {
  name: string;
  /** Sorted, unique. */
  roles: string[];
  /** `scrypt$...` hash, or null for a user who cannot log in with a password. */
  passwordHash: string | null;
}

export interface UserPatch {
  roles?: string[];
  passwordHash?: string | null;
}

export type KeyState = 'active' | 'retiring' | 'retired';

export interface KeyRecord {
  kid: string;
  state: KeyState;
  bits: number;
  /** ms since epoch. */
  createdAt: number;
  /** ms since epoch; set when the key leaves the active state: published until then. */
  notAfter: number | null;
  /** Public JWK as JSON text. */
  publicJwk: string;
  /** PKCS#8 PEM private key; null once retired (erased). */
  privateKey: string | null;
}

export interface Store {
  /** Increases on every write by any process. */
  revision(): Promise<number>;

  getProxyUrl(): Promise<string | null>;
  setProxyUrl(url: string | null): Promise<void>;

  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  /** Creates the user (roles default to [], no password) or applies the patch, atomically. */
  upsertUser(name: string, patch: UserPatch): Promise<{ created: boolean; user: UserRecord }>;
  /** Creates the user only if there is no user at all (first-start bootstrap); false otherwise. */
  createFirstUser(user: UserRecord): Promise<boolean>;
  deleteUser(name: string): Promise<boolean>;

  listKeys(): Promise<KeyRecord[]>;
  /**
   * Inserts `key` as the active key and moves the previous active key to `retiring` with
   * `notAfter = retiringNotAfter`, in one transaction.
   */
  activateKey(key: Omit<KeyRecord, 'state' | 'notAfter'>, retiringNotAfter: number): Promise<void>;
  /** Moves retiring keys whose notAfter <= now to `retired` and erases their private key. */
  retireExpiredKeys(now: number): Promise<number>;

  close(): Promise<void>;
}
