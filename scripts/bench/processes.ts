/**
 * The benchmark's child processes (upstream, nginx, gateway, readiness runs): start, watch,
 * stop; free ports. Every child is tracked so that none outlives the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { HOST } from './common.js';

// ---------------------------------------------------------------- child processes

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last 32 KiB the process printed (stdout + stderr). */
  output(): string;
  alive(): boolean;
  exited: Promise<void>;
}

const children = new Set<Child>();

export function spawnChild(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Child {
  // stdin is a pipe we never close: the upstream exits when it sees EOF (we died).
  const proc = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 64 * 1024) out = out.slice(-32 * 1024);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  proc.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    output: () => out.slice(-32 * 1024),
    alive: () => proc.exitCode === null && proc.signalCode === null,
    exited,
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** Processes the measurements depend on: a crash of one of them ends the benchmark with its output. */
export const essential = new Set<Child>();

export function checkEssential(): void {
  for (const child of essential) {
    if (!child.alive()) {
      const { exitCode, signalCode } = child.proc;
      throw new Error(`${child.name} (pid ${child.pid}) died during the benchmark (exit code ${exitCode}, signal ${signalCode}); its last output:\n${child.output() || '(nothing)'}`);
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (bounded). */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  essential.delete(child);
  if (child.alive()) child.proc.kill('SIGTERM');
  const timedOut = await Promise.race([child.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut && child.alive()) {
    child.proc.kill('SIGKILL');
    await Promise.race([child.exited, sleep(2_000)]);
  }
  children.delete(child);
}

export async function waitForOutput(child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const match = child.output().match(pattern);
    if (match) return match;
    if (!child.alive()) throw new Error(`${child.name} exited before it was ready:\n${child.output()}`);
    await sleep(20);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${child.output()}`);
}

/** Stops every child still running, each with `graceMs` (see stopChild). */
export async function stopAllChildren(graceMs: number): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child, graceMs)));
}

/** SIGKILLs every child still running, at once (the last resort on exit). */
export function killAllChildren(): void {
  for (const child of children) if (child.alive()) child.proc.kill('SIGKILL');
}

// ---------------------------------------------------------------- ports

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
