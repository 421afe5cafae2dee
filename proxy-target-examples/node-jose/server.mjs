#!/usr/bin/env node
// A jwtgate proxy target built with express and jose: the usual Node stack.
// It trusts the caller identity only after verifying the gateway's RS512 signature.
//
//   JWKS_URL=http://127.0.0.1:8080/.well-known/jwks.json PORT=8000 node server.mjs
//
// Routes (modelled on the Atoti proxy documentation):
//   GET  /whoami?mode=jwt      verify the token, answer {"name", "roles"} from its claims
//   GET  /whoami?mode=session  call the gateway back as the user (X-Forwarded-Proto/Host) at /api/whoami
//   GET  /reports              a route that needs the ROLE_USER role (403 without it)
//   GET  /headers              the request headers this server received (debugging aid)
//   POST *                     echo the body, with an X-Custom-Header response header
import http from 'node:http';
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const HOST = process.env.HOST ?? '127.0.0.1';
const PORT = Number(process.env.PORT ?? 8000);
const ISSUER = process.env.JWT_ISSUER || undefined; // optional: check the iss claim

if (!process.env.JWKS_URL) {
  console.error('set JWKS_URL (the gateway\'s /.well-known/jwks.json)');
  process.exit(2);
}
// Fetched lazily and cached; a token with an unknown kid triggers a refetch (at most once per
// cooldown), so a key rotation on the gateway needs nothing here. 5 s like node-zero-deps (jose's default is 30 s).
const jwks = createRemoteJWKSet(new URL(process.env.JWKS_URL), { cooldownDuration: 5_000 });

/** Returns the verified claims, or throws. */
export async function verifyJwt(token) {
  const { payload } = await jwtVerify(token, jwks, {
    algorithms: ['RS512'], // pin the algorithm: never let the token choose it
    requiredClaims: ['exp'],
    clockTolerance: 5,
    ...(ISSUER !== undefined && { issuer: ISSUER }),
  });
  return payload;
}

const bearerOf = (req) => {
  const [type, jwt] = (req.headers.authorization ?? '').split(' ');
  return type === 'Bearer' && jwt ? jwt : null;
};

/** Middleware: 401 unless the request carries a valid gateway token; the claims go to res.locals.claims. */
async function requireJwt(req, res, next) {
  const jwt = bearerOf(req);
  if (!jwt) return res.status(401).json({ error: 'no bearer token' });
  try {
    res.locals.claims = await verifyJwt(jwt);
  } catch (err) {
    return res.status(401).json({ error: err.message });
  }
  next();
}

/** Middleware (after requireJwt): 403 unless the token's authorities contain `role`. */
const requireRole = (role) => (req, res, next) => {
  const { authorities } = res.locals.claims;
  if (!Array.isArray(authorities) || !authorities.includes(role)) return res.status(403).json({ error: `${role} required` });
  next();
};

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.set('case sensitive routing', true); // /Whoami and /whoami/ are 404, as in node-zero-deps
app.set('strict routing', true);

// POST anywhere: echo the raw bytes (no body parser, so nothing is decoded, inflated or size-limited).
app.use((req, res, next) => {
  if (req.method !== 'POST') return next();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('error', next);
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    // writeHead, not res.type(): express would append "; charset=utf-8" to text types.
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream', 'content-length': body.length, 'x-custom-header': 'lorem ipsum' });
    res.end(body);
  });
});

app.get('/whoami', async (req, res) => {
  const modes = new URL(req.originalUrl, 'http://upstream').searchParams.getAll('mode');
  if (modes.length !== 1 || !['jwt', 'session'].includes(modes[0])) return res.status(400).json({ error: 'mode must be jwt or session' });
  const jwt = bearerOf(req);
  if (!jwt) return res.status(401).json({ error: 'no bearer token' });
  if (modes[0] === 'jwt') {
    let claims;
    try {
      claims = await verifyJwt(jwt);
    } catch (err) {
      return res.status(401).json({ error: err.message });
    }
    // Most services would also require ROLE_USER here: see /reports.
    return res.json({ name: claims.sub, roles: claims.authorities });
  }
  // session mode: the gateway's URL is rebuilt from the headers it added.
  const gateway = `${req.headers['x-forwarded-proto']}://${req.headers['x-forwarded-host']}`;
  const answer = await fetch(`${gateway}/api/whoami`, { headers: { authorization: `Bearer ${jwt}` } }).catch(() => null);
  if (!answer || !answer.ok) return res.status(403).json({ error: `the gateway refused the session (${answer?.status ?? 'unreachable'})` });
  const user = await answer.json();
  res.json({ name: user.name, roles: [...user.roles].sort() });
});

app.get('/reports', requireJwt, requireRole('ROLE_USER'), (req, res) => {
  res.json({ reports: [{ id: 1, title: 'Q1 revenue' }, { id: 2, title: 'Q2 revenue' }], user: res.locals.claims.sub });
});

app.get('/headers', (req, res) => res.json({ headers: req.headers, url: req.originalUrl }));

app.use((req, res) => res.status(404).json({ error: 'not found' }));
// Express recognises error handlers by their 4 parameters (async errors land here too).
app.use((err, req, res, _next) => res.status(500).json({ error: 'internal error' }));

const server = http.createServer(app);
server.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});
server.listen(PORT, HOST, () => {
  const { port } = server.address();
  console.log(`listening on http://${HOST}:${port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
