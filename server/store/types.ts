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

/**
 * The key life cycle (rules in server/tokens/key-lifecycle/): next → active → retiring → retired.
 * next: published in the JWKS, does not sign (at most one; it signs at the next rotation);
 * active: signs new tokens (at most one); retiring: published until notAfter, no longer signing;
 * retired: not published, private key erased. A next or active key replaced in an emergency, or
 * a next key replaced by an import, goes straight to retired.
 */
export type KeyState = 'next' | 'active' | 'retiring' | 'retired';

export interface KeyRecord {
  kid: string;
  state: KeyState;
  bits: number;
  /** ms since epoch. */
  createdAt: number;
  /** ms since epoch: when the key entered the JWKS. */
  publishedAt: number;
  /**
   * ms since epoch: when the key started signing (active, retiring, retired), or, for a next key,
   * a promotion scheduled before the upgrade from `pending` (null: at the next rotation).
   */
  activatesAt: number | null;
  /** ms since epoch: a retiring key is published until then; a retired key was removed then. */
  notAfter: number | null;
  /** Public JWK as JSON text. */
  publicJwk: string;
  /** PKCS#8 PEM private key (sealed when a key-encryption key is configured); null once retired. */
  privateKey: string | null;
}

/** A key about to enter the store: it always has its private key. */
export type NewKeyRecord = Omit<KeyRecord, 'state' | 'notAfter' | 'activatesAt' | 'publishedAt' | 'privateKey'> & { privateKey: string };

/** The kids of the active and the next key (null: none): what a key transition expects to find. */
export interface SigningKids {
  active: string | null;
  next: string | null;
}

/** Routine or scheduled rotation: next → active, active → retiring until previousNotAfter, newNext → next. */
export interface PromoteNextKey {
  expected: SigningKids & { next: string };
  newNext: NewKeyRecord;
  previousNotAfter: number;
  now: number;
}

/** A new next key (import, or a store without one): the current next key, if any, is retired (it never signed). */
export interface ReplaceNextKey {
  expected: SigningKids;
  next: NewKeyRecord;
  now: number;
}

/** First keys, or an emergency: the current active and next keys, if any, are retired now; both new keys are inserted. */
export interface ReplaceSigningKeys {
  expected: SigningKids;
  active: NewKeyRecord;
  next: NewKeyRecord;
  now: number;
}

export interface Store {
  /** Increases on every write by any process. */
  revision(): Promise<number>;
  /** A random id of this deployment, created on first call and stable after (shared by every replica on this store). */
  deploymentId(): Promise<string>;

  getProxyUrl(): Promise<string | null>;
  setProxyUrl(url: string | null): Promise<void>;

  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  /** Creates the user (roles default to [], no password) or applies the patch, atomically. */
  upsertUser(name: string, patch: UserPatch): Promise<{ created: boolean; user: UserRecord }>;
  /** Creates the user only if there is no user at all (first-start bootstrap); false otherwise. */
  createFirstUser(user: UserRecord): Promise<boolean>;
  /**
   * Replaces the user's password hash with a re-hash of the SAME password (stronger parameters),
   * only if the stored hash is still `expected`; true when replaced. It does not move the
   * revision: nothing any server caches (identities, tokens) changes.
   */
  replacePasswordHash(name: string, expected: string, replacement: string): Promise<boolean>;
  deleteUser(name: string): Promise<boolean>;

  listKeys(): Promise<KeyRecord[]>;
  /*
   * Key transitions. Each is one atomic compare-and-set: it applies only if the active and next
   * keys are still `expected` (false, and nothing written, otherwise), so when several processes
   * attempt the same transition (replicas seeing a scheduled rotation due) exactly one applies it.
   * Inserting a kid the store already holds, in any state, throws.
   */
  promoteNextKey(change: PromoteNextKey): Promise<boolean>;
  replaceNextKey(change: ReplaceNextKey): Promise<boolean>;
  replaceSigningKeys(change: ReplaceSigningKeys): Promise<boolean>;
  /** Retiring keys whose notAfter <= now become retired, private key erased. Returns how many (0 writes nothing). */
  retireExpiredKeys(now: number): Promise<number>;
  /** Replaces the stored private key material of every key (e.g. sealing it at rest). */
  rewritePrivateKeys(map: (kid: string, privateKey: string) => string): Promise<number>;

  close(): Promise<void>;
}
