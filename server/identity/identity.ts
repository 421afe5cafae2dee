/** Who is calling: a name and sorted roles. Everything downstream (policy, token) reads only this. */
export interface Identity {
  readonly name: string;
  /** Sorted, unique. */
  readonly roles: readonly string[];
  /** How the caller proved it, for logs and policy. */
  readonly via: 'anonymous' | 'basic' | 'bearer' | 'insecure';
  /** Basic only: the user's password version the check was made against (admin writes re-check it in the store). */
  readonly passwordVersion?: number;
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
