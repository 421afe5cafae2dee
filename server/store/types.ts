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
  /**
   * Changes whenever the password is set or removed (never for a re-hash of the same password),
   * to a value no earlier password of this store had, even one of a deleted user of the same
   * name: a check made against another version no longer proves anything. 0: never had one.
   */
  passwordVersion: number;
  /**
   * ms since epoch, set when the user is created and kept by every update: a user deleted and
   * created again is a new user (a token minted before this time was not minted for them).
   * 0: created before the store recorded it (a store from an older jwtgate).
   */
  createdAt: number;
}

/**
 * The administrator on whose behalf a write is made. The write happens only if, inside its own
 * transaction, this user still exists, still has ROLE_ADMIN and still has the password version
 * the caller was verified against; otherwise it throws ActorRevokedError (401, deleted or
 * password changed) or ForbiddenError (403, no longer an administrator). Writes by the CLI
 * (the operator) have no actor.
 */
export interface AdminActor {
  name: string;
  passwordVersion: number;
}

export interface UserWriteOptions {
  actor?: AdminActor;
  /** Refuse (LastAdminError, 409) a write that would leave no administrator with a password. */
  keepAnAdmin?: boolean;
}

/** What a server must drop from its caches: user names and session id hashes. */
export interface Changes {
  users: string[];
  sessions: string[];
}

/**
 * A browser session. The store never holds the session id, only its SHA-256 (`idHash`), and a
 * separate random `handle` by which administrators name it.
 */
export interface SessionRecord {
  idHash: string;
  handle: string;
  user: string;
  /** ms since epoch. */
  createdAt: number;
  lastSeenAt: number;
  /** The session ends at the earlier of these two. */
  idleExpiresAt: number;
  expiresAt: number;
  clientAddress: string;
  userAgent: string;
}

export interface SessionFilter {
  user?: string;
  /** At most this many (the newest). */
  limit?: number;
}

/** Some of the live sessions, and how many match in all (`total > sessions.length`: cut by the limit). */
export interface SessionPage {
  sessions: SessionRecord[];
  total: number;
}

export type SessionSelector = { handle: string } | { idHash: string } | { user: string };

/** A key that signs session cookies: the newest signs, the others verify until `retiresAt`. */
export interface SessionSecretRecord {
  id: string;
  /** base64url of 32 random bytes. */
  secret: string;
  createdAt: number;
  retiresAt: number | null;
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
  /** Checked first, in the same transaction (see AdminActor). */
  actor?: AdminActor | undefined;
  expected: SigningKids & { next: string };
  newNext: NewKeyRecord;
  previousNotAfter: number;
  now: number;
}

/** A new next key (import, or a store without one): the current next key, if any, is retired (it never signed). */
export interface ReplaceNextKey {
  /** Checked first, in the same transaction (see AdminActor). */
  actor?: AdminActor | undefined;
  expected: SigningKids;
  next: NewKeyRecord;
  now: number;
}

/** First keys, or an emergency: the current active and next keys, if any, are retired now; both new keys are inserted. */
export interface ReplaceSigningKeys {
  /** An emergency: keys still published after an earlier rotation leave the JWKS now too. */
  retireRetiring?: boolean;
  /** Checked first, in the same transaction (see AdminActor). */
  actor?: AdminActor | undefined;
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
  setProxyUrl(url: string | null, options?: { actor?: AdminActor }): Promise<void>;

  getUser(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  /** Creates the user (roles default to [], no password) or applies the patch, atomically, after the checks of `options`. */
  upsertUser(name: string, patch: UserPatch, options?: UserWriteOptions): Promise<{ created: boolean; user: UserRecord }>;
  /** Creates the user only if there is no user at all (first-start bootstrap); false otherwise. */
  createFirstUser(user: Omit<UserRecord, 'passwordVersion' | 'createdAt'>): Promise<boolean>;
  /**
   * Replaces the user's password hash with a re-hash of the SAME password (stronger parameters),
   * only if the stored hash is still `expected`; true when replaced. It does not move the
   * revision: nothing any server caches (identities, tokens) changes.
   */
  replacePasswordHash(name: string, expected: string, replacement: string): Promise<boolean>;
  /** The checks of UserWriteOptions['actor'] alone, for a read made on an administrator's behalf. */
  checkActor(actor: AdminActor): Promise<void>;
  /** False when there was no such user; the checks of `options` run first, in the same transaction. */
  deleteUser(name: string, options?: UserWriteOptions): Promise<boolean>;
  /**
   * The users (names) and sessions (id hashes) written or deleted after `revision` (a server's
   * last seen revision), so that a server drops only those from its caches; null when the store
   * no longer knows (too old): then every cached user and session must go.
   */
  changesSince(revision: number): Promise<Changes | null>;

  /**
   * Stores a new session. With `maxPerUser`, first ends as many of the user's oldest sessions
   * live at `session.createdAt` as needed for at most that many to be live with the new one, in
   * the same transaction (so processes creating sessions at once never exceed it together), and
   * records their ends in the change log like deleteSessions; returns them, oldest first. Moves
   * the revision only when it ends some: otherwise nothing any server caches changes.
   */
  createSession(session: SessionRecord, options?: { maxPerUser?: number }): Promise<SessionRecord[]>;
  getSession(idHash: string): Promise<SessionRecord | undefined>;
  /** Records activity (no revision move; other servers re-read a session before they expire it for idleness). */
  touchSession(idHash: string, lastSeenAt: number, idleExpiresAt: number): Promise<void>;
  /** Sessions not expired at `now`, newest first; of one user when `user` is given; the first `limit` (all when omitted) and how many there are. */
  listSessions(now: number, filter?: SessionFilter): Promise<SessionPage>;
  /** Ends the sessions selected (by handle, by id hash, or all of a user's); returns them. An `actor` is checked first, in the same transaction. */
  deleteSessions(selector: SessionSelector, options?: { actor?: AdminActor }): Promise<SessionRecord[]>;
  /** Removes sessions expired at `now` (housekeeping; no revision move). */
  pruneSessions(now: number): Promise<number>;
  /** The session secrets, newest first (retired ones are gone). */
  listSessionSecrets(now: number): Promise<SessionSecretRecord[]>;
  /**
   * Adds `secret` as the newest (it signs from now on); the others stop verifying at
   * `othersRetireAt` (those already retiring keep their earlier time) and are deleted once past
   * it. With `onlyIfNone`, adds it only if there is no secret at all (first start); true when added.
   */
  addSessionSecret(secret: SessionSecretRecord, othersRetireAt: number, options?: { onlyIfNone?: boolean }): Promise<boolean>;

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
