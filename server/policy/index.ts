export { requireRole } from './require-role.js';
export { isCrossSite, isCrossSiteCookieRequest, isUnsafeMethod } from './cross-site.js';
