/**
 * The nginx reference: finding an `nginx` binary, its config (1 worker, upstream keep-alive,
 * streaming both ways) and starting it as a benchmark target.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOST, type Target } from './common.js';
import { waitFor200 } from './http-client.js';
import { processTree } from './process-stats.js';
import { freePort, spawnChild, stopChild, type Child } from './processes.js';

export interface NginxBinary {
  path: string;
  version: string;
  /** `nginx -V` output: configure arguments. */
  configure: string;
}

export function findNginx(): NginxBinary | null {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'nginx');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
    } catch {
      continue;
    }
    const info = spawnSync(candidate, ['-V'], { encoding: 'utf8', timeout: 10_000 });
    const text = `${info.stdout ?? ''}${info.stderr ?? ''}`;
    const version = text.match(/nginx version: nginx\/([^\s]+)/)?.[1];
    if (version) return { path: candidate, version, configure: text };
  }
  return null;
}

function versionAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < minimum.length; i++) {
    const v = parts[i] ?? 0;
    if (v !== minimum[i]) return v > minimum[i]!;
  }
  return true;
}

function nginxConfig(dir: string, port: number, upstreamOrigin: string, nginx: NginxBinary): string {
  const upstream = new URL(upstreamOrigin);
  const tempPath = (directive: string, module: string): string =>
    nginx.configure.includes(`--without-http_${module}_module`) ? '' : `  ${directive} ${path.join(dir, `${module}_temp`)};\n`;
  // As root, the workers would switch to `nobody`: keep them as the current user.
  const user = process.getuid?.() === 0 ? `user ${os.userInfo().username};\n` : '';
  return `${user}worker_processes 1;
daemon off;
master_process on;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${path.join(dir, 'client_body_temp')};
  proxy_temp_path ${path.join(dir, 'proxy_temp')};
${tempPath('fastcgi_temp_path', 'fastcgi')}${tempPath('uwsgi_temp_path', 'uwsgi')}${tempPath('scgi_temp_path', 'scgi')}  client_max_body_size 0;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  upstream bench_upstream {
    server ${upstream.host};
    keepalive 64;
  }
  server {
    listen ${HOST}:${port};
    location /proxy/ {
      proxy_pass http://bench_upstream/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Stream both ways, as the gateway does.
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`;
}

export async function startNginx(nginx: NginxBinary, workDir: string, upstreamOrigin: string): Promise<{ child: Child; target: Target } | { note: string }> {
  const dir = path.join(workDir, 'nginx');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, nginxConfig(dir, port, upstreamOrigin, nginx));
  // -e (early error log) exists since nginx 1.19.5; without it nginx may warn about /var/log/nginx.
  const args = ['-p', dir, '-c', conf, ...(versionAtLeast(nginx.version, [1, 19, 5]) ? ['-e', path.join(dir, 'error.log')] : [])];
  const test = spawnSync(nginx.path, ['-t', ...args], { encoding: 'utf8', timeout: 10_000 });
  if (test.status !== 0) return { note: `nginx skipped: its config test failed: ${`${test.stderr ?? ''}${test.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ')}` };
  const child = spawnChild('nginx', nginx.path, args);
  try {
    await waitFor200(`http://${HOST}:${port}/proxy/x`, child, 10_000, 20);
  } catch (err) {
    await stopChild(child, 3_000);
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      // no log
    }
    return { note: `nginx skipped: it did not start (${(err as Error).message.split('\n')[0]}${log ? `; error.log: ${log}` : ''})` };
  }
  return { child, target: { name: 'nginx', origin: `http://${HOST}:${port}`, prefix: '/proxy', pids: () => processTree(child.pid) } };
}
