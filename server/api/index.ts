export { createApiRouter, type ApiDeps } from './api-router.js';
