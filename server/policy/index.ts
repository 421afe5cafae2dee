export { requireRole } from './require-role.js';
export { isCrossSite, isUnsafeMethod } from './cross-site.js';
