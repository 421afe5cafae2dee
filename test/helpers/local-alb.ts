/**
 * Local stand-ins for the parties that sign identity assertions, as real HTTP servers on free
 * ports: an AWS ALB (ALB-format tokens: padded segments, ES256 over the padded bytes, the header
 * fields the ALB sets; its PEM keys served per kid) and an authenticating proxy's JWKS with a jose
 * signer. Both count the key requests they receive and can be made slow or failing.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** up: answer; slow: accept and never answer; error: answer 500. */
export type KeyServerMode = 'up' | 'slow' | 'error';

class KeyServer {
  mode: KeyServerMode = 'up';
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  readonly #counts = new Map<string, number>();
  #open = 0;
  /** The most requests ever open at once (answered or held). */
  peakOpen = 0;
  port = 0;

  constructor(answer: (path: string) => { status: number; type: string; body: string }) {
    this.#server = http.createServer((req, res) => {
      const path = req.url ?? '/';
      this.#counts.set(path, (this.#counts.get(path) ?? 0) + 1);
      this.peakOpen = Math.max(this.peakOpen, ++this.#open);
      res.on('close', () => this.#open--);
      if (this.mode === 'slow') return; // held until close()
      if (this.mode === 'error') {
        res.writeHead(500).end('internal error');
        return;
      }
      const { status, type, body } = answer(path);
      res.writeHead(status, { 'content-type': type }).end(body);
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  /** Requests received for `path`, or for every path. */
  requests(path?: string): number {
    if (path !== undefined) return this.#counts.get(path) ?? 0;
    return [...this.#counts.values()].reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** JSON (or bytes) → base64url WITH "=" padding, as the ALB encodes segments. */
export function paddedSegment(value: unknown): string {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
  const text = bytes.toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

export function withoutPadding(token: string): string {
  return token.replaceAll('=', '');
}

export interface AlbSignOptions {
  /** Fields to set or override in the ALB header (undefined removes one). */
  header?: Record<string, unknown>;
  kid?: string;
  ttlSeconds?: number;
  /** ms since epoch, the signing time. */
  now?: number;
  /** Adds a filler claim so that the payload segment needs padding. */
  ensurePadding?: boolean;
  /** Encode the signed segments without padding (a standard JWT made with the ALB's key). */
  unpadded?: boolean;
}

export class LocalAlb {
  readonly arn: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly #server: KeyServer;
  readonly #keys = new Map<string, { privateKey: KeyObject; pem: string }>();
  kid = '';

  private constructor(server: KeyServer, options: { arn?: string; issuer?: string; clientId?: string }) {
    this.#server = server;
    this.arn = options.arn ?? 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/test-alb/50dc6c495c0c9188';
    this.issuer = options.issuer ?? 'https://idp.example.test';
    this.clientId = options.clientId ?? 'jwtgate-client';
  }

  static async start(options: { arn?: string; issuer?: string; clientId?: string } = {}): Promise<LocalAlb> {
    let alb: LocalAlb | undefined = undefined;
    const server = new KeyServer((path) => {
      const pem = alb!.#keys.get(decodeURIComponent(path.replace(/^\/keys\//, '')))?.pem;
      return pem === undefined ? { status: 404, type: 'text/plain', body: 'no such key' } : { status: 200, type: 'application/x-pem-file', body: pem };
    });
    await server.listen();
    alb = new LocalAlb(server, options);
    alb.addKey();
    return alb;
  }

  /** The key URL template, as --alb-key-url takes it. */
  get keyUrl(): string {
    return `http://127.0.0.1:${this.#server.port}/keys/{kid}`;
  }

  get mode(): KeyServerMode {
    return this.#server.mode;
  }

  set mode(mode: KeyServerMode) {
    this.#server.mode = mode;
  }

  /** A new P-256 key, published and used from now on; returns its kid. */
  addKey(): string {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.kid = randomUUID();
    this.#keys.set(this.kid, { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
    return this.kid;
  }

  publicPem(kid = this.kid): string {
    return this.#keys.get(kid)!.pem;
  }

  /** Serves `body` as the key of `kid` (a key server answering something that is not a P-256 key). */
  publishRaw(kid: string, body: string): void {
    this.#keys.set(kid, { privateKey: this.#keys.get(this.kid)!.privateKey, pem: body });
  }

  /** The key server forgets `kid` (it answers 404 for it from now on). */
  withdraw(kid: string): void {
    this.#keys.delete(kid);
  }

  /** The most key requests open at once since the last call. */
  takePeakKeyRequests(): number {
    const peak = this.#server.peakOpen;
    this.#server.peakOpen = 0;
    return peak;
  }

  /** Key requests received for `kid`, or for all kids. */
  keyRequests(kid?: string): number {
    return this.#server.requests(kid === undefined ? undefined : `/keys/${kid}`);
  }

  /** An assertion as the ALB makes it (or, with options, one the ALB would never make). */
  sign(claims: Record<string, unknown>, options: AlbSignOptions = {}): string {
    const kid = options.kid ?? this.kid;
    const exp = Math.floor((options.now ?? Date.now()) / 1000) + (options.ttlSeconds ?? 120);
    const header: Record<string, unknown> = { typ: 'JWT', kid, alg: 'ES256', iss: this.issuer, client: this.clientId, signer: this.arn, exp, ...options.header };
    let payload: Record<string, unknown> = { iss: this.issuer, exp, ...claims };
    if (options.ensurePadding) {
      for (let n = 0; Buffer.byteLength(JSON.stringify(payload)) % 3 === 0; n++) payload = { ...payload, filler: 'x'.repeat(n + 1) };
    }
    const encode = (value: unknown) => (options.unpadded ? Buffer.from(JSON.stringify(value)).toString('base64url') : paddedSegment(value));
    const signingInput = `${encode(header)}.${encode(payload)}`;
    const key = this.#keys.get(kid)?.privateKey ?? this.#keys.get(this.kid)!.privateKey;
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${paddedSegment(signature)}`;
  }

  close(): Promise<void> {
    return this.#server.close();
  }
}

export type JwksAlgorithm = 'RS256' | 'RS512' | 'ES256' | 'ES384' | 'PS256' | 'EdDSA';

export interface JwtSignOptions {
  alg?: JwksAlgorithm;
  issuer?: string | null;
  audience?: string | string[] | null;
  /** null: no exp at all. */
  ttlSeconds?: number | null;
  /** ms since epoch, the signing time. */
  now?: number;
}

/** An authenticating proxy's JWKS (one key per algorithm used), and a signer with those keys. */
export class LocalJwks {
  readonly issuer: string;
  readonly audience: string;
  readonly #server: KeyServer;
  readonly #keys = new Map<JwksAlgorithm, { privateKey: CryptoKey; jwk: JWK }>();

  private constructor(server: KeyServer, options: { issuer?: string; audience?: string }) {
    this.#server = server;
    this.issuer = options.issuer ?? 'https://proxy.example.test';
    this.audience = options.audience ?? 'jwtgate';
  }

  static async start(options: { algorithms?: JwksAlgorithm[]; issuer?: string; audience?: string } = {}): Promise<LocalJwks> {
    let jwks: LocalJwks | undefined = undefined;
    const server = new KeyServer(() => ({ status: 200, type: 'application/json', body: JSON.stringify({ keys: [...jwks!.#keys.values()].map((k) => k.jwk) }) }));
    await server.listen();
    jwks = new LocalJwks(server, options);
    for (const alg of options.algorithms ?? ['RS256', 'ES256']) await jwks.addKey(alg);
    return jwks;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.port}/.well-known/jwks.json`;
  }

  get mode(): KeyServerMode {
    return this.#server.mode;
  }

  set mode(mode: KeyServerMode) {
    this.#server.mode = mode;
  }

  get requests(): number {
    return this.#server.requests();
  }

  /** A key for `alg`, published from now on; returns its kid. */
  async addKey(alg: JwksAlgorithm): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    this.#keys.set(alg, { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } });
    return kid;
  }

  async sign(claims: Record<string, unknown>, options: JwtSignOptions = {}): Promise<string> {
    const alg = options.alg ?? 'RS256';
    const key = this.#keys.get(alg);
    if (!key) throw new Error(`no ${alg} key in this JWKS`);
    const now = Math.floor((options.now ?? Date.now()) / 1000);
    let jwt = new SignJWT(claims).setProtectedHeader({ alg, kid: key.jwk.kid!, typ: 'JWT' }).setIssuedAt(now);
    if (options.ttlSeconds !== null) jwt = jwt.setExpirationTime(now + (options.ttlSeconds ?? 300));
    const issuer = options.issuer === undefined ? this.issuer : options.issuer;
    const audience = options.audience === undefined ? this.audience : options.audience;
    if (issuer !== null) jwt = jwt.setIssuer(issuer);
    if (audience !== null) jwt = jwt.setAudience(audience);
    return jwt.sign(key.privateKey);
  }

  /** The published JWK of `alg`. */
  jwk(alg: JwksAlgorithm): JWK {
    return this.#keys.get(alg)!.jwk;
  }

  close(): Promise<void> {
    return this.#server.close();
  }
}
