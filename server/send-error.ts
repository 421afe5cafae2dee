/** The one place that writes an error response, for the /proxy fast path and Express alike. */
import type { ServerResponse } from 'node:http';
import { BadRequestError, GatewayError, PayloadTooLargeError, toGatewayError, toResponse } from './errors.js';
import type { Logger } from './log.js';

/** body-parser and friends throw errors carrying `status` and `type`; map the ones we expect. */
function fromLibraryError(err: unknown): GatewayError | undefined {
  if (!err || typeof err !== 'object' || err instanceof GatewayError) return undefined;
  const { status, type } = err as { status?: unknown; type?: unknown };
  if (type === 'entity.parse.failed') return new BadRequestError('the body is not valid JSON');
  if (type === 'entity.too.large') return new PayloadTooLargeError('the body is too large');
  if (typeof status === 'number' && status >= 400 && status < 500) return new BadRequestError('bad request');
  return undefined;
}

export function sendError(res: ServerResponse, err: unknown, format: 'json' | 'plain', log: Pick<Logger, 'error' | 'warn'>): void {
  const error = fromLibraryError(err) ?? toGatewayError(err);
  const cause = error.cause ?? err;
  if (error.status > 501) {
    log.warn({ code: error.code, cause: cause instanceof Error ? cause.message : undefined }, error.message);
  } else if (error.status === 500) {
    log.error({ code: error.code, err: cause instanceof Error ? { message: cause.message, code: (cause as { code?: string }).code, stack: cause.stack } : String(cause) }, error.message);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, body } = toResponse(error, format);
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(body);
}
