#!/usr/bin/env node
// A jwtgate proxy target with no dependencies: node:http + node:crypto only.
// It trusts the caller identity only after verifying the gateway's RS512 signature.
//
//   PUBLIC_KEY_FILE=gateway.pem PORT=8000 node server.mjs
//   (or JWKS_URL=http://127.0.0.1:8080/.well-known/jwks.json to follow key rotation)
//
// Routes (modelled on the Atoti proxy documentation):
//   GET  /whoami?mode=jwt      verify the token, answer {"name", "roles"} from its claims
//   GET  /whoami?mode=session  call the gateway back as the user (X-Forwarded-Proto/Host) at /api/whoami
//   GET  /headers              the request headers this server received (debugging aid)
//   POST *                     echo the body, with an X-Custom-Header response header
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

const HOST = process.env.HOST ?? '127.0.0.1';
const PORT = Number(process.env.PORT ?? 8000);
const ISSUER = process.env.JWT_ISSUER; // optional: check the iss claim
const CLOCK_SKEW_SECONDS = 5;

/** kid -> public KeyObject. A PEM file gives one key that matches any kid. */
let keys = new Map();
let pemKey = null;
if (process.env.PUBLIC_KEY_FILE) {
  pemKey = createPublicKey(readFileSync(process.env.PUBLIC_KEY_FILE, 'utf8'));
} else if (!process.env.JWKS_URL) {
  console.error('set PUBLIC_KEY_FILE (PEM) or JWKS_URL');
  process.exit(2);
}

let lastJwksFetch = 0;
async function refreshJwks() {
  // At most one fetch every 5 s, so forged kids cannot make us hammer the gateway.
  if (Date.now() - lastJwksFetch < 5_000) return;
  lastJwksFetch = Date.now();
  const res = await fetch(process.env.JWKS_URL);
  if (!res.ok) throw new Error(`JWKS fetch failed: ${res.status}`);
  const { keys: jwks } = await res.json();
  keys = new Map(jwks.filter((k) => k.kty === 'RSA' && k.kid).map((k) => [k.kid, createPublicKey({ key: k, format: 'jwk' })]));
}

async function publicKeyFor(kid) {
  if (pemKey) return pemKey;
  if (!keys.has(kid)) await refreshJwks();
  return keys.get(kid);
}

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** Returns the verified claims, or throws. */
export async function verifyJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('malformed token');
  const header = b64json(parts[0]);
  // Pin the algorithm: never let the token choose it (no "none", no HS512 with the public key).
  if (header.alg !== 'RS512') throw new Error(`unexpected alg ${header.alg}`);
  const key = await publicKeyFor(header.kid);
  if (!key) throw new Error('unknown signing key');
  const ok = verify('sha512', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], 'base64url'));
  if (!ok) throw new Error('bad signature');
  const claims = b64json(parts[1]);
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_SECONDS < now) throw new Error('expired');
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_SECONDS > now) throw new Error('not yet valid');
  if (ISSUER !== undefined && claims.iss !== ISSUER) throw new Error('wrong issuer');
  return claims;
}

function send(res, status, body, headers = {}) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

async function whoami(req, res, mode) {
  const [type, jwt] = (req.headers.authorization ?? '').split(' ');
  if (type !== 'Bearer' || !jwt) return send(res, 401, { error: 'no bearer token' });
  if (mode === 'jwt') {
    let claims;
    try {
      claims = await verifyJwt(jwt);
    } catch (err) {
      return send(res, 401, { error: err.message });
    }
    // Most services would also require ROLE_USER here (403 without it).
    return send(res, 200, { name: claims.sub, roles: claims.authorities });
  }
  // session mode: the gateway's URL is rebuilt from the headers it added.
  const gateway = `${req.headers['x-forwarded-proto']}://${req.headers['x-forwarded-host']}`;
  const answer = await fetch(`${gateway}/api/whoami`, { headers: { authorization: `Bearer ${jwt}` } }).catch(() => null);
  if (!answer || !answer.ok) return send(res, 403, { error: `the gateway refused the session (${answer?.status ?? 'unreachable'})` });
  const user = await answer.json();
  return send(res, 200, { name: user.name, roles: [...user.roles].sort() });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://upstream');
  if (req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream', 'content-length': body.length, 'x-custom-header': 'lorem ipsum' });
      res.end(body);
    });
    return;
  }
  if (req.method === 'GET' && url.pathname === '/whoami') {
    const modes = url.searchParams.getAll('mode');
    if (modes.length !== 1 || !['jwt', 'session'].includes(modes[0])) return send(res, 400, { error: 'mode must be jwt or session' });
    whoami(req, res, modes[0]).catch(() => send(res, 500, { error: 'internal error' }));
    return;
  }
  if (req.method === 'GET' && url.pathname === '/headers') return send(res, 200, { headers: req.headers, url: req.url });
  send(res, 404, { error: 'not found' });
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  console.log(`listening on http://${HOST}:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
