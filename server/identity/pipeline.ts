/**
 * Who is calling, for every consumer alike (the /proxy fast path, the Express routes through
 * passport, the login page): one ordered list of identity sources, configured once at start.
 *
 * The first source whose credential the request carries decides; a request with none is
 * anonymous (or, with --insecure, every caller is the insecure identity). A request with an
 * `Authorization` header is decided by the sources that read it, whatever else it carries. A
 * caller who tried to authenticate and failed gets 401 from the source that read the
 * credential, never a silent downgrade to anonymous (nor to another credential); and an
 * `Authorization` header that no source of this consumer reads (e.g. Bearer on /proxy) is a 401
 * too, unless a trusted proxy's assertion comes with it (proxies add ID tokens there).
 */
import { UnauthorizedError } from '../errors.js';
import { ANONYMOUS, INSECURE, type Identity } from './identity.js';
import type { IdentityRequest } from './request.js';

export interface IdentitySource {
  /** For logs and the passport strategy name. */
  readonly name: string;
  /**
   * True for sources that read the `Authorization` header. A request with that header is decided
   * by one of them, or refused: a cookie or an assertion never rescues a failed or unreadable one.
   */
  readonly readsAuthorization: boolean;
  /**
   * True for a trusted proxy's assertion: it decides for a request whose Authorization header has
   * a scheme no source of this consumer reads (an ID token the proxy added). A cookie never does.
   */
  readonly decidesBesideUnreadAuthorization?: boolean;
  /** True when the request carries this source's credential (cheap, synchronous, no verdict). */
  present(req: IdentityRequest): boolean;
  /**
   * The identity without waiting, when this source knows it already (a cached check); undefined
   * when `identify` has to work. May throw (a credential known to be bad).
   */
  known(req: IdentityRequest): Identity | undefined;
  /** The identity, waiting if needed. Throws UnauthorizedError (or a subclass) for a bad credential. */
  identify(req: IdentityRequest): Promise<Identity>;
  /** False once a change seen since says this identity no longer holds (ask again). */
  isCurrent?(identity: Identity): boolean;
  /**
   * True when a refused credential of this source gives way to a later source whose credential
   * the request also carries (an ended session cookie next to a load balancer's assertion),
   * instead of a 401. Never for sources that read the Authorization header.
   */
  readonly yieldsWhenRefused?: boolean;
}

export interface IdentityPipelineOptions {
  sources: readonly IdentitySource[];
  /** Every caller is anonymousUser with every built-in role: no source is asked. */
  insecure: boolean;
}

function authorizationOf(req: IdentityRequest): string | undefined {
  const value = req.headers.authorization;
  return value === undefined || value === '' ? undefined : value;
}

export class IdentityPipeline {
  readonly sources: readonly IdentitySource[];
  readonly #insecure: boolean;

  constructor(options: IdentityPipelineOptions) {
    this.sources = options.sources;
    this.#insecure = options.insecure;
  }

  /** The source that decides for this request; null: anonymous (or insecure). Throws for an Authorization header no source reads. */
  select(req: IdentityRequest): IdentitySource | null {
    if (this.#insecure) return null;
    const authorization = authorizationOf(req) !== undefined;
    const source = this.#presentFrom(0, authorization, req);
    if (source !== null || !authorization) return source;
    for (const beside of this.sources) if (beside.decidesBesideUnreadAuthorization && !beside.readsAuthorization && beside.present(req)) return beside;
    throw new UnauthorizedError('this authorization scheme is not accepted here');
  }

  #presentFrom(start: number, authorization: boolean, req: IdentityRequest): IdentitySource | null {
    for (let i = start; i < this.sources.length; i++) {
      const source = this.sources[i]!;
      if (source.readsAuthorization === authorization && source.present(req)) return source;
    }
    return null;
  }

  /** The source that decides when `source` refused its credential and gives way; null when none does (the refusal stands). */
  successor(source: IdentitySource, req: IdentityRequest): IdentitySource | null {
    if (!source.yieldsWhenRefused || source.readsAuthorization) return null;
    return this.#presentFrom(this.sources.indexOf(source) + 1, false, req);
  }

  #fallback(): Identity {
    return this.#insecure ? INSECURE : ANONYMOUS;
  }

  /** The identity when it is known without waiting, else undefined (then call `identify`). */
  known(req: IdentityRequest): Identity | undefined {
    const source = this.select(req);
    if (source === null) return this.#fallback();
    try {
      return source.known(req);
    } catch (err) {
      const next = err instanceof UnauthorizedError ? this.successor(source, req) : null;
      if (next === null) throw err;
      return next.known(req);
    }
  }

  async identify(req: IdentityRequest): Promise<Identity> {
    const source = this.select(req);
    if (source === null) return this.#fallback();
    try {
      return source.known(req) ?? (await source.identify(req));
    } catch (err) {
      const next = err instanceof UnauthorizedError ? this.successor(source, req) : null;
      if (next === null) throw err;
      return next.known(req) ?? next.identify(req);
    }
  }

  /** False once a source says a change since makes this identity stale. */
  isCurrent(identity: Identity): boolean {
    for (const source of this.sources) if (source.isCurrent && !source.isCurrent(identity)) return false;
    return true;
  }
}
