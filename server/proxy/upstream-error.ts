/** Maps a failure to reach the upstream to 502 (unreachable) or 504 (too slow). */
import { UpstreamTimeoutError, UpstreamUnreachableError, type GatewayError } from '../errors.js';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

function codeOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return (err as { code?: string } | undefined)?.code;
}

export function upstreamError(err: unknown): GatewayError {
  const code = codeOf(err);
  if (code !== undefined && TIMEOUT_CODES.has(code)) return new UpstreamTimeoutError('Upstream timed out.', { cause: err });
  return new UpstreamUnreachableError('Upstream unreachable.', { cause: err });
}
