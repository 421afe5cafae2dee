/** Starts one of proxy-target-examples/ as a real upstream process. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { EXAMPLES } from './paths.js';
import { spawnUntil, type Spawned } from './process.js';

export interface TestUpstream extends Spawned {
  url: string;
  port: number;
}

const READY = /listening on (http:\/\/[^\s]+:(\d+))/;

export type ExampleName = 'node-zero-deps' | 'node-jose' | 'python';

/** The Python that has PyJWT: Debian's python3-jwt installs into /usr/bin/python3, which may not be the first python3 on PATH. */
export function pythonWithJwt(): string | null {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import jwt, cryptography'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return null;
}

export async function startExample(name: ExampleName, env: Record<string, string>): Promise<TestUpstream> {
  const dir = path.join(EXAMPLES, name);
  let command: string;
  let args: string[];
  if (name === 'python') {
    const python = pythonWithJwt();
    if (!python) throw new Error('no python3 with the jwt module (apt-get install python3-jwt)');
    command = python;
    args = [path.join(dir, 'server.py')];
  } else {
    command = process.execPath;
    args = [path.join(dir, 'server.mjs')];
  }
  const { spawned, match } = await spawnUntil(command, args, READY, { env: { HOST: '127.0.0.1', PORT: '0', ...env }, cwd: dir });
  return { ...spawned, url: match[1]!, port: Number(match[2]) };
}
