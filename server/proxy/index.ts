export { parseTargetUrl, MAX_TARGET_URL_LENGTH, type TargetUrl } from './target-url.js';
export { isProxyPath, upstreamPath, hasDotSegment, PROXY_PREFIX } from './forward-path.js';
export { upstreamRequestHeaders, clientResponseHeaders, type GatewayHeaders } from './headers.js';
export { Forwarder, type ForwarderOptions, type ForwardRequest } from './forwarder.js';
export { upstreamError } from './status-code.js';
export { parseTrustProxy, forwardedOf, TRUST_NONE, type TrustProxy, type Forwarded } from './trust-proxy.js';
export { isSelfTarget, viaName, hasLooped, type SelfAddress } from './self-target.js';
export { requestBody, hasBody } from './body-limit.js';
export { createUpgradeForwarder, refuseUpgrade, type UpgradeForwarder } from './websocket.js';
