/** Starts the real gateway (`jwtgate serve`) as a child process on a free port. */
import { CLI } from './paths.js';
import { spawnUntil, tempDir, type Spawned } from './process.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestGateway extends Spawned {
  url: string;
  port: number;
  dataDir: string;
  /** Authorization header value of the bootstrap admin. */
  adminAuth: string;
}

export function basicAuth(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

export async function startGateway(options: { args?: readonly string[]; env?: Record<string, string>; dataDir?: string } = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? tempDir();
  const { spawned, match } = await spawnUntil(
    process.execPath,
    [CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--poll-interval', '200', ...(options.args ?? [])],
    /listening on (http:\/\/[^"\s]+:(\d+))/,
    { env: { JWTGATE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...options.env } },
  );
  return { ...spawned, url: match[1]!, port: Number(match[2]), dataDir, adminAuth: basicAuth('admin', ADMIN_PASSWORD) };
}

/** JSON request helper for the admin API. */
export async function adminJson(gateway: Pick<TestGateway, 'url' | 'adminAuth'>, method: string, path: string, body?: unknown, auth: string | null = gateway.adminAuth): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (auth !== null) headers['authorization'] = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(gateway.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
