/**
 * The session cookie as an identity source (identity/pipeline.ts): after the Authorization
 * header, before anonymous. The identity is the session's user with the user's CURRENT roles (a
 * role change shows on the next request); a cookie that opens no session — forged, tampered,
 * ended by logout or an administrator, expired, its user deleted or given a new password — is a
 * 401 that also clears the cookie, never a silent downgrade to anonymous.
 *
 * It lives here rather than in identity/sources/ because sessions depend on identity (the login
 * checks passwords); the pipeline takes it as one more IdentitySource.
 */
import { SessionInvalidError } from '../errors.js';
import type { DirectoryEntry, Identity, IdentityRequest, IdentitySource, UserDirectory } from '../identity/index.js';
import { clearPlantedCookieHeaders, cookieValues } from './cookie.js';
import type { LiveSession, SessionManager } from './session-manager.js';

export interface SessionSourceOptions {
  manager: SessionManager;
  users: Pick<UserDirectory, 'known' | 'get'>;
  cookieName: string;
  secure: boolean;
}

export interface SessionSource extends IdentitySource {
  /** The session cookie's value in a request, or undefined (several different ones: 401). */
  cookieValueOf(req: Pick<IdentityRequest, 'headers' | 'url'>): string | undefined;
}

interface Made {
  session: LiveSession;
  entry: DirectoryEntry;
  identity: Identity;
}

export function sessionCookieSource(options: SessionSourceOptions): SessionSource {
  const { manager, users, cookieName } = options;
  /** The 401 that clears the cookie, wherever it may have been planted for this request. */
  const invalid = (why: string, req: Pick<IdentityRequest, 'headers' | 'url'>) =>
    new SessionInvalidError(why, clearPlantedCookieHeaders(cookieName, options.secure, { host: req.headers.host, path: req.url }));
  /** Identities made, per live session object (a touch makes a new one): no allocation per request. */
  const made = new WeakMap<LiveSession, Made>();
  const madeFor = new WeakMap<Identity, Made>();

  /** The last Cookie header read and its session cookie value: `present` and `known` read the same one. */
  let lastHeader: string | undefined;
  let lastValue: string | undefined;

  function cookieValueOf(req: Pick<IdentityRequest, 'headers' | 'url'>): string | undefined {
    const header = req.headers.cookie;
    if (header !== undefined && header === lastHeader) return lastValue;
    const values = cookieValues(header, cookieName);
    if (values.length === 0) return undefined;
    // Two different values (one planted by a sibling subdomain?): which one is meant is unknown.
    if (values.some((v) => v !== values[0])) throw invalid('more than one session cookie', req);
    if (typeof header === 'string') [lastHeader, lastValue] = [header, values[0]];
    return values[0];
  }

  function identityOf(session: LiveSession, entry: DirectoryEntry): Identity {
    const previous = made.get(session);
    if (previous && previous.entry === entry) return previous.identity;
    const { record } = session;
    const identity: Identity = Object.freeze({
      name: record.user,
      roles: entry.roles,
      via: 'session',
      session: Object.freeze({ handle: record.handle, key: record.idHash, createdAt: record.createdAt, expiresAt: session.expiresAt, idleExpiresAt: record.idleExpiresAt, absoluteExpiresAt: record.expiresAt }),
    });
    const m = { session, entry, identity };
    made.set(session, m);
    madeFor.set(identity, m);
    return identity;
  }

  return {
    name: 'session-cookie',
    readsAuthorization: false,
    // An ended session next to a load balancer's assertion: the assertion decides (the user is
    // not locked out until the cookie is cleared); alone, it is a 401 that clears the cookie.
    yieldsWhenRefused: true,
    cookieValueOf,
    present: (req) => req.headers.cookie !== undefined && cookieValueOf(req) !== undefined,
    known(req) {
      const session = manager.known(cookieValueOf(req)!);
      if (session === undefined) return undefined;
      if (session === null) throw invalid('the session has ended', req);
      const entry = users.known(session.record.user);
      if (entry === undefined) return undefined;
      if (entry === null) throw invalid('the session\'s user no longer exists', req);
      return identityOf(session, entry);
    },
    async identify(req) {
      const session = await manager.lookup(cookieValueOf(req)!);
      if (session === null) throw invalid('the session has ended, expired, or never existed: log in again', req);
      const entry = await users.get(session.record.user);
      if (entry === null) throw invalid('the session\'s user no longer exists', req);
      return identityOf(session, entry);
    },
    isCurrent(identity) {
      const m = madeFor.get(identity);
      return m === undefined || (manager.isLive(m.session.record.idHash) && users.known(identity.name) === m.entry);
    },
  };
}
