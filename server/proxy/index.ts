export { parseTargetUrl, MAX_TARGET_URL_LENGTH, type TargetUrl } from './target-url.js';
export { isProxyPath, upstreamPath, hasDotSegment, PROXY_PREFIX } from './forward-path.js';
export { upstreamRequestHeaders, clientResponseHeaders, type GatewayHeaders } from './headers.js';
export { Forwarder, type ForwarderOptions, type ForwardRequest } from './forwarder.js';
export { upstreamError } from './status-code.js';
