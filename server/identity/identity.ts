/** Who is calling: a name and sorted roles. Everything downstream (policy, token) reads only this. */
export interface Identity {
  readonly name: string;
  /** Sorted, unique. */
  readonly roles: readonly string[];
  /** Which identity source decided it (identity/sources/, sessions/), for logs and policy. */
  readonly via: IdentityVia;
  /** Bearer only: the token's `iat`, seconds since epoch (a user created after it is not the one it was minted for). */
  readonly issuedAt?: number;
  /** Basic only: the user's password version the check was made against (admin writes re-check it in the store). */
  readonly passwordVersion?: number;
  /** Session only: the session it came from. */
  readonly session?: SessionInfo;
  /** Load-balancer assertions only: the e-mail address, and the claims as received. */
  readonly email?: string;
  readonly claims?: Readonly<Record<string, unknown>>;
}

export type IdentityVia = 'anonymous' | 'basic' | 'bearer' | 'insecure' | 'session' | 'alb' | 'trusted-jwt';

/** What a session identity says about its session (GET /api/session shows all but `key`). */
export interface SessionInfo {
  /** The opaque handle administrators name it by (never the id or its hash). */
  readonly handle: string;
  /** The store's key of the session (a hash of its id, never sent to a client): its end is announced by it. */
  readonly key: string;
  readonly createdAt: number;
  /** ms since epoch: the earlier of the idle and the absolute expiry. */
  readonly expiresAt: number;
  readonly idleExpiresAt: number;
  readonly absoluteExpiresAt: number;
}

export const ANONYMOUS_NAME = 'anonymousUser';

export const ROLE_ADMIN = 'ROLE_ADMIN';
export const ROLE_USER = 'ROLE_USER';
export const ROLE_ANONYMOUS = 'ROLE_ANONYMOUS';

export const ANONYMOUS: Identity = Object.freeze({ name: ANONYMOUS_NAME, roles: Object.freeze([ROLE_ANONYMOUS]), via: 'anonymous' });

/** The Atoti session without security: everyone is anonymousUser with every built-in role. */
export const INSECURE: Identity = Object.freeze({
  name: ANONYMOUS_NAME,
  roles: Object.freeze([ROLE_ADMIN, ROLE_ANONYMOUS, ROLE_USER]),
  via: 'insecure',
});

export function hasRole(identity: Identity, role: string): boolean {
  return identity.roles.includes(role);
}
