export { createAdminRouter, type AdminDeps } from './admin-router.js';
