/**
 * An identity assertion of a load balancer or authenticating proxy (sources/alb.ts,
 * sources/trusted-jwt.ts) as an identity source. The header counts only from a trusted peer
 * (--trust-proxy) and only off the --auth-exempt paths: anywhere else it is ignored (and
 * proxy/headers.ts removes it before forwarding), so the request goes on as anonymous. Once read,
 * the assertion decides: valid, it is the user; invalid, 401; keys unavailable, 503; never a
 * silent anonymous.
 *
 * Roles: the mapped claim roles; with --auto-create-users, joined with the store's roles of that
 * user (created on first sight, so administrators can see them and add roles).
 */
import { InvalidAssertionError } from '../../errors.js';
import { assertionToken, type AssertedIdentity, type AssertionSourceKind, type AssertionVerifier, type ClaimMapping, type ExemptPaths, type VerifierTuning } from '../assertions/index.js';
import type { Identity } from '../identity.js';
import type { IdentitySource } from '../pipeline.js';
import type { IdentityRequest } from '../request.js';
import type { DirectoryEntry } from '../user-directory.js';

/** The store's users as --auto-create-users joins them (identity/auto-create.ts). */
export interface AssertedUsers {
  /** The cached entry: an entry, null for "no such user", undefined when not cached. */
  known(name: string): DirectoryEntry | null | undefined;
  /** The user's entry; creates the user (no password, no roles) when there is none. */
  ensure(name: string, via: AssertionSourceKind): Promise<DirectoryEntry>;
}

export interface AssertionSourceOptions {
  verifier: AssertionVerifier;
  exempt: ExemptPaths;
  /** With --auto-create-users; null: the store is not consulted, the roles are the mapped ones. */
  users: AssertedUsers | null;
}

/** What sources/alb.ts and sources/trusted-jwt.ts take: their verifier's settings instead of the verifier. */
export type AssertionSourceSettings<Settings> = Omit<AssertionSourceOptions, 'verifier'> & { settings: Settings; claims: ClaimMapping; tuning?: VerifierTuning };

function union(a: readonly string[], b: readonly string[]): readonly string[] {
  return b.length === 0 ? a : Object.freeze([...new Set([...a, ...b])].sort());
}

export function assertionSource({ verifier, exempt, users }: AssertionSourceOptions): IdentitySource {
  const { header, kind } = verifier;
  // One Identity per verified assertion (and store entry), built once: a cached request allocates
  // nothing, and the minted-token cache sees the same name and roles.
  const built = new WeakMap<AssertedIdentity, { entry: DirectoryEntry | null; identity: Identity }>();
  const entryOf = new WeakMap<Identity, DirectoryEntry>();
  const identityOf = (asserted: AssertedIdentity, entry: DirectoryEntry | null): Identity => {
    const hit = built.get(asserted);
    if (hit !== undefined && hit.entry === entry) return hit.identity;
    const identity: Identity = Object.freeze({
      name: asserted.name,
      roles: entry === null ? asserted.roles : union(asserted.roles, entry.roles),
      via: kind,
      ...(asserted.email !== undefined ? { email: asserted.email } : {}),
      claims: asserted.claims,
    });
    built.set(asserted, { entry, identity });
    if (entry !== null) entryOf.set(identity, entry);
    return identity;
  };
  const tokenOf = (req: IdentityRequest): string =>
    assertionToken(req.headers[header]) ?? (() => { throw new InvalidAssertionError('malformed', 'the assertion header is empty'); })();

  return {
    name: kind,
    // The header is never Authorization (config refuses it); a proxy that also adds an ID token
    // as `Authorization: Bearer` leaves the decision to its assertion where Bearer is not read.
    readsAuthorization: false,
    decidesBesideUnreadAuthorization: true,
    present(req) {
      const value = req.headers[header];
      return value !== undefined && value !== '' && req.peerTrusted() && !exempt.matches(req.url);
    },
    known(req) {
      const asserted = verifier.cached(tokenOf(req));
      if (asserted === undefined) return undefined;
      if (users === null) return identityOf(asserted, null);
      const entry = users.known(asserted.name);
      return entry ? identityOf(asserted, entry) : undefined;
    },
    async identify(req) {
      const asserted = await verifier.verify(tokenOf(req));
      return identityOf(asserted, users === null ? null : await users.ensure(asserted.name, kind));
    },
    // The store's roles were read with the identity: a change to the user seen since voids it.
    isCurrent: (identity) => identity.via !== kind || users === null || users.known(identity.name) === entryOf.get(identity),
  };
}
