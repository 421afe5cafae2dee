export { requireRole } from './require-role.js';
export { isCrossSite, isCrossSiteBrowserRequest, isUnsafeMethod } from './cross-site.js';
export { isUnsafeRequest, overridesToTrace, METHOD_OVERRIDE_HEADERS } from './method-override.js';
