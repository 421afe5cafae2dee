/** What an upstream learns from the gateway's token: verified with the gateway's JWKS, as an upstream does. */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Recorded } from './recorder.js';

export interface UpstreamIdentity {
  sub: string;
  authorities: string[];
}

/** The verified `sub` and `authorities` of the token a recorded request carried. */
export async function upstreamIdentity(gatewayUrl: string, recorded: Recorded): Promise<UpstreamIdentity> {
  const header = recorded.headers.authorization ?? '';
  if (!header.startsWith('Bearer ')) throw new Error(`the upstream got no bearer token: ${JSON.stringify(header)}`);
  const jwks = (await (await fetch(`${gatewayUrl}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const { payload } = await jwtVerify(header.slice(7), createLocalJWKSet(jwks), { algorithms: ['RS512'] });
  return { sub: String(payload.sub), authorities: payload['authorities'] as string[] };
}
