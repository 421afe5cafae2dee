/**
 * Executable docs: every ```console block of the pages below is run against the real gateway and
 * the real example upstream, and what it prints must be what the page shows (normalised: times,
 * kids, pids, tokens, ports...). A page that no longer matches the code fails here with the file,
 * the block, the line, and what the doc says against what was printed. Notation: docs/testing.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseConsoleBlocks, type ConsoleBlock } from '../helpers/console-blocks.js';
import { compareLines, ELLIPSIS, normalise } from '../helpers/doc-compare.js';
import { Background, DocShell } from '../helpers/doc-shell.js';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/process.js';

/** The pages whose console blocks run, and the folder each one's commands start in; a page joins by being listed here. */
const PAGES = [
  { page: 'README.md', cwd: '.' },
  { page: 'docs/cli.md', cwd: '.' },
  { page: 'proxy-target-examples/node-zero-deps/README.md', cwd: 'proxy-target-examples/node-zero-deps' },
  { page: 'proxy-target-examples/node-jose/README.md', cwd: 'proxy-target-examples/node-jose' },
];

/** The ports the docs show, each replaced by a free port of the same width while the test runs. */
const DOC_PORTS = [8080, 8000];

async function freePortLike(docPort: number, taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 8100 + Math.floor(Math.random() * 1900);
    if (taken.has(port) || DOC_PORTS.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const probe = net.createServer().once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port to stand for ${docPort}`);
}

/**
 * A working copy outside the repository, so the repository stays clean: links to what is only
 * read, a copy of the examples (their READMEs write next to themselves), and `jwtgate` on the
 * PATH as `npm link` puts it there (a link to bin/jwtgate).
 */
function workspace(): { root: string; bin: string } {
  const root = tempDir('jwtgate-docs-');
  for (const entry of ['bin', 'dist', 'node_modules', 'package.json']) fs.symlinkSync(path.join(ROOT, entry), path.join(root, entry));
  fs.cpSync(path.join(ROOT, 'proxy-target-examples'), path.join(root, 'proxy-target-examples'), { recursive: true, filter: (from) => !from.includes(`${path.sep}node_modules`) });
  const bin = tempDir('jwtgate-docs-bin-');
  fs.symlinkSync(path.join(ROOT, 'bin/jwtgate'), path.join(bin, 'jwtgate'));
  return { root, bin };
}

/** Runs one page; returns one message per mismatch. */
async function runPage(t: TestContext, page: string, folder: string, blocks: readonly ConsoleBlock[]): Promise<string[]> {
  const { root, bin } = workspace();
  const cwd = path.join(root, folder);
  const taken = new Set<number>();
  const ports = new Map<number, number>();
  for (const docPort of DOC_PORTS) {
    const port = await freePortLike(docPort, taken);
    taken.add(port);
    ports.set(docPort, port);
  }
  const inCommand = (text: string) => text.replace(/\b\d{4}\b/g, (p) => String(ports.get(Number(p)) ?? p));
  const asDoc = (line: string) => line.replace(/\b\d{4}\b/g, (p) => String([...ports].find(([, real]) => real === Number(p))?.[0] ?? p));
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JWTGATE_') && !k.startsWith('NODE_TEST')));
  Object.assign(env, { PATH: `${bin}${path.delimiter}${env['PATH'] ?? ''}`, JWTGATE_PORT: String(ports.get(8080)) });
  delete env['COLUMNS'];

  const shell = new DocShell(cwd, env);
  const background = new Map<string, Background>();
  const failures: string[] = [];
  const check = (block: ConsoleBlock, command: { line: number; text: string; expected: ConsoleBlock['commands'][number]['expected'] }, printed: string[], note = '') => {
    const diff = compareLines(page, command.expected, printed.map(asDoc));
    if (diff) failures.push(`${page}:${command.line}: the output of \`${command.text.split('\n')[0]}\` differs from the doc (console block at line ${block.line}${note}):\n${diff}`);
  };
  try {
    for (const block of blocks) {
      const mode = block.mode;
      if (mode.kind === 'no-run') {
        t.diagnostic(`not run (no-run, illustrative): ${page}:${block.line}`);
        continue;
      }
      if (mode.kind === 'background') {
        const command = block.commands[0]!;
        if (background.get(mode.name)?.running) throw new Error(`${page}:${block.line}: background=${mode.name} is still running (stop it first with a stop=${mode.name} block)`);
        const proc = new Background(inCommand(command.text), await shell.context());
        background.set(mode.name, proc);
        const last = command.expected.filter((l) => l.text !== ELLIPSIS).at(-1);
        // The block's last line is the sign that the process is ready; a block without one waits for nothing.
        const printed = last === undefined ? [] : await proc.until((line) => normalise(asDoc(line)) === normalise(last.text));
        check(block, command, printed, `, background=${mode.name}`);
        continue;
      }
      if (mode.kind === 'stop') {
        const proc = background.get(mode.name);
        if (!proc) throw new Error(`${page}:${block.line}: stop=${mode.name}, but no background=${mode.name} block ran before`);
        check(block, block.commands[0]!, await proc.interrupt(), `, stop=${mode.name}`);
        continue;
      }
      for (const command of block.commands) {
        const { lines } = await shell.run(inCommand(command.text));
        check(block, command, lines);
      }
    }
  } finally {
    shell.close();
    for (const proc of background.values()) await proc.kill();
  }
  return failures;
}

describe('executable docs', () => {
  it('has what the pages call: bash and curl', () => {
    for (const tool of ['bash', 'curl']) {
      const probe = spawnSync(tool, ['--version'], { stdio: 'ignore' });
      assert.equal(probe.status, 0, `the executable docs need ${tool} on the PATH (Debian: apt-get install ${tool})`);
    }
  });

  for (const { page, cwd } of PAGES) {
    it(`${page}: every console block prints what the page shows`, async (t) => {
      const blocks = parseConsoleBlocks(page, fs.readFileSync(path.join(ROOT, page), 'utf8'));
      assert.ok(blocks.some((b) => b.mode.kind !== 'no-run'), `${page} has no console block to run`);
      const failures = await runPage(t, page, cwd, blocks);
      assert.equal(failures.length, 0, `\n${failures.join('\n\n')}\n\n(${failures.length} mismatch${failures.length === 1 ? '' : 'es'} in ${page}; compared after normalising what varies between runs, see docs/testing.md; fix the doc or the code)`);
    });
  }
});
