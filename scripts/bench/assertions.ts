/**
 * Scenario h): the gateway behind an AWS ALB. A LocalAlb (test/helpers/local-alb.ts: ALB-format
 * ES256 tokens, its PEM served per kid over HTTP) in the benchmark process signs one
 * x-amzn-oidc-data token per user, valid for the whole run; the gateway fetches the key once and
 * keeps each verified token cached (by the token, bounded).
 */
import { LocalAlb } from '../../test/helpers/local-alb.js';
import { userName } from './common.js';

/** Longer than any run, so that no token expires mid-benchmark. */
const TOKEN_TTL_SECONDS = 6 * 3600;

export interface BenchAlb {
  /** The gateway's extra `serve` flags. */
  gatewayArgs: string[];
  /** One token per user, in user order. */
  tokens: string[];
  /** Key requests the gateway made (expected: 1). */
  keyRequests(): number;
  close(): Promise<void>;
}

export async function startBenchAlb(users: number): Promise<BenchAlb> {
  const alb = await LocalAlb.start();
  const tokens = Array.from({ length: users }, (_, i) => alb.sign({ sub: userName(i), email: `${userName(i)}@bench.test` }, { ttlSeconds: TOKEN_TTL_SECONDS }));
  return {
    gatewayArgs: ['--trust-proxy', '127.0.0.1', '--alb-key-url', alb.keyUrl, '--alb-arn', alb.arn],
    tokens,
    keyRequests: () => alb.keyRequests(),
    close: () => alb.close(),
  };
}
