/**
 * Where a doc's console blocks run: one bash per document (variables, `export`s and `cd` carry
 * over from block to block, as in a reader's terminal), and long-running processes started
 * beside it, as in a second terminal, with the shell's environment and folder at that moment.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';

const MARK = '\u0000DOCS-TEST-DONE';

/** Resolves when `done` does, or after `ms`, without keeping the process alive afterwards. */
function within(done: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

export interface ShellResult {
  /** stdout and stderr as the terminal would show them, interleaved. */
  lines: string[];
  code: number;
}

/** Output text as lines, without the final newline's empty line. */
function toLines(text: string): string[] {
  if (text === '') return [];
  return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
}

export class DocShell {
  readonly #bash: ChildProcessWithoutNullStreams;
  #out = '';
  #waiting: (() => void) | undefined;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.#bash = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: 'pipe', detached: true });
    this.#bash.stdout.on('data', (d: Buffer) => this.#take(d));
    this.#bash.stderr.on('data', (d: Buffer) => this.#take(d));
    this.#bash.stdin.write('exec 2>&1\n');
  }

  #take(d: Buffer): void {
    this.#out += d.toString('utf8');
    this.#waiting?.();
  }

  /** Runs one command (stdin from /dev/null: a command that reads it must be given a pipe). */
  async run(command: string, timeoutMs = 30_000): Promise<ShellResult> {
    this.#out = '';
    this.#bash.stdin.write(`{ ${command}\n} </dev/null; printf '${MARK.replace('\u0000', '\\0')} %d\\n' $?\n`);
    const deadline = Date.now() + timeoutMs;
    while (!this.#out.includes(MARK)) {
      if (this.#bash.exitCode !== null) throw new Error(`the shell exited (${this.#bash.exitCode}) during the command; it printed:\n${this.#out}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the command did not finish within ${timeoutMs / 1000} s; it printed:\n${this.#out}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.#waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const at = this.#out.indexOf(MARK);
    const code = Number(/^ (\d+)/.exec(this.#out.slice(at + MARK.length))?.[1]);
    return { lines: toLines(this.#out.slice(0, at)), code };
  }

  /** The shell's exported environment and working folder now, for a process started beside it. */
  async context(): Promise<{ env: NodeJS.ProcessEnv; cwd: string }> {
    const { lines } = await this.run(`pwd; env -0 | base64 -w0; echo`);
    const env: NodeJS.ProcessEnv = {};
    for (const entry of Buffer.from(lines[1] ?? '', 'base64').toString('utf8').split('\u0000')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return { env, cwd: lines[0]! };
  }

  close(): void {
    try {
      process.kill(-this.#bash.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A process the doc leaves running (`background=NAME`), until its `stop=NAME` block or the end of the doc. */
export class Background {
  readonly #proc: ChildProcess;
  #out = '';
  /** Where the lines compared so far end. */
  #seen = 0;
  readonly exited: Promise<void>;

  constructor(command: string, context: { env: NodeJS.ProcessEnv; cwd: string }) {
    // `exec` so the signal of a ^C reaches the program itself; leading VAR=value words stay its environment.
    const withExec = command.replace(/^((?:[A-Za-z_]\w*=\S*\s+)*)/, '$1exec ');
    this.#proc = spawn('bash', ['--noprofile', '--norc', '-c', `exec 2>&1 </dev/null\n${withExec}`], { ...context, stdio: ['ignore', 'pipe', 'ignore'] });
    this.#proc.stdout!.on('data', (d: Buffer) => (this.#out += d.toString('utf8')));
    // 'close', not 'exit': the last lines may still be in the pipe when the process has exited.
    this.exited = new Promise((resolve) => this.#proc.once('close', () => resolve()));
  }

  get running(): boolean {
    return this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  /** Waits until a printed line (normalised) is `last`, or the process ends, or the time is up; returns the lines up to there. */
  async until(isLast: (line: string) => boolean, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = toLines(this.#out.slice(this.#seen));
      const at = lines.findIndex(isLast);
      const complete = at >= 0 && (this.#out.slice(this.#seen).split('\n').length > at + 1);
      if (complete || !this.running || Date.now() > deadline) {
        const taken = complete ? lines.slice(0, at + 1) : lines;
        this.#seen += taken.reduce((n, l) => n + l.length + 1, 0);
        return taken;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** ^C: SIGINT, then everything printed since the last comparison, once the process has ended. */
  async interrupt(timeoutMs = 20_000): Promise<string[]> {
    this.#proc.kill('SIGINT');
    await within(this.exited, timeoutMs);
    if (this.running) this.#proc.kill('SIGKILL');
    return toLines(this.#out.slice(this.#seen));
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.#proc.kill('SIGTERM');
    await within(this.exited, 5000);
    if (this.running) this.#proc.kill('SIGKILL');
  }
}
