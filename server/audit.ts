/**
 * The audit log: one JSON line per admin change (proxy target, user, role, key), from the admin
 * API and the CLI alike, appended synchronously to a 0600 file so a line exists before the change
 * is acknowledged. Never a secret: no password, hash or key material, only names and ids.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Every action the audit log records; docs/http-api.md lists the same (a unit test compares them). */
export const AUDIT_ACTIONS = ['proxy.set', 'proxy.disable', 'user.create', 'user.update', 'user.delete', 'key.rotate', 'key.import', 'token.mint', 'store.backup', 'session.login', 'session.logout', 'session.revoke', 'sessionsecret.rotate'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEvent {
  /** Who: an admin user name, `cli:<os user>`, or `scheduler` (a rotation --rotate-every made). */
  actor: string;
  /** What: one of AUDIT_ACTIONS, so a new action cannot be written without being listed (and documented). */
  action: AuditAction;
  /** On what: a user name, a kid, a URL. */
  target: string | null;
  /** Non-secret details (roles, whether a password changed, timings). */
  details?: Record<string, unknown>;
}

export interface AuditLog {
  record(event: AuditEvent): void;
}

export function openAuditLog(file: string, now: () => number = Date.now): AuditLog {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return {
    record(event) {
      const line = JSON.stringify({ time: new Date(now()).toISOString(), actor: event.actor, action: event.action, target: event.target, ...(event.details ? { details: event.details } : {}) });
      fs.appendFileSync(file, `${line}\n`, { mode: 0o600 });
    },
  };
}
