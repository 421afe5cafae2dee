/**
 * Layering rules (what a lint rule would enforce): the core (tokens/, store/, config) never
 * imports Express or passport, and nothing but config.ts reads process.env.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../helpers/paths.js';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

const server = path.join(ROOT, 'server');

it('tokens/, store/ and config.ts do not import express, passport or http-proxy-middleware', () => {
  const core = [...sources(path.join(server, 'tokens')), ...sources(path.join(server, 'store')), path.join(server, 'config.ts')];
  assert.ok(core.length > 5);
  for (const file of core) {
    const text = fs.readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /from ['"](express|passport[\w-]*|http-proxy-middleware)['"]/, path.relative(ROOT, file));
  }
});

it('the key life cycle has one home: only tokens/key-lifecycle/ asks the store for key transitions', () => {
  const transitions = /\.(promoteNextKey|replaceNextKey|replaceSigningKeys|retireExpiredKeys)\(/;
  const home = [path.join(server, 'tokens', 'key-lifecycle'), path.join(server, 'store')];
  const callers = sources(server).filter((file) => transitions.test(fs.readFileSync(file, 'utf8')));
  assert.ok(callers.length > 0);
  for (const file of callers) assert.ok(home.some((dir) => file.startsWith(dir + path.sep)), `${path.relative(ROOT, file)} applies a key transition itself`);
});

it('only config.ts reads process.env', () => {
  for (const file of sources(server)) {
    if (file.endsWith(`${path.sep}config.ts`)) continue;
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /process\.env/, path.relative(ROOT, file));
  }
});

it('no server file has an `any` in its exported types', () => {
  for (const file of sources(server)) {
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /export [^\n]*:\s*any\b/, path.relative(ROOT, file));
  }
});

/** The folder (under server/) a source file belongs to, or '' for the root. */
const folderOf = (file: string) => {
  const rel = path.relative(server, file).split(path.sep);
  return rel.length > 1 ? rel[0]! : '';
};
/** The modules a file imports at run time (`import type` is no dependency: it vanishes when compiled). */
const importsOf = (file: string) =>
  [...fs.readFileSync(file, 'utf8').matchAll(/^(?:import|export) (?!type )[^;]*? from ['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => path.resolve(path.dirname(file), m[1]!));

it('the server root holds only the entry point and the cross-cutting pieces', () => {
  const root = fs.readdirSync(server).filter((f) => f.endsWith('.ts')).sort();
  assert.deepEqual(root, ['audit.ts', 'cli.ts', 'config-options.ts', 'config.ts', 'errors.ts', 'expiring-lru.ts', 'ip-address.ts', 'log.ts', 'send-error.ts']);
});

it('index.ts is only ever a folder\'s public surface: exports, nothing else', () => {
  for (const file of sources(server).filter((f) => path.basename(f) === 'index.ts')) {
    const code = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '').trim();
    for (const statement of code.split(/;\s*\n?/).map((s) => s.trim()).filter(Boolean)) {
      assert.match(statement, /^export (\*|\{[^}]*\}|type \{[^}]*\}) from '\.\.?\/[\w./-]+'$/, `${path.relative(ROOT, file)}: ${statement.slice(0, 80)}`);
    }
  }
});

it('data flows one way: the layers below never import the layers above', () => {
  // Each folder may import only the folders listed (and the root's cross-cutting files).
  const allowed: Record<string, readonly string[]> = {
    store: [],
    tokens: ['store'],
    identity: ['store', 'tokens'],
    sessions: ['store', 'identity', 'policy'],
    policy: ['identity'],
    users: ['store', 'identity'],
    proxy: ['identity', 'sessions', 'tokens', 'policy'],
    admin: ['store', 'identity', 'sessions', 'tokens', 'policy', 'users', 'proxy', 'gateway'],
    api: ['identity', 'sessions', 'policy'],
    commands: ['store', 'identity', 'sessions', 'tokens', 'users', 'proxy'],
    gateway: ['store', 'identity', 'sessions', 'tokens', 'policy', 'users', 'proxy', 'admin', 'api'],
  };
  for (const file of sources(server)) {
    const from = folderOf(file);
    if (from === '' || from === 'types') continue;
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      if (to === '' || to === from) continue;
      assert.ok(allowed[from]?.includes(to), `${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)}: ${from}/ may not depend on ${to}/`);
    }
  }
});

it('a folder is entered through its index.ts: no import reaches into another folder\'s files', () => {
  for (const file of sources(server)) {
    const from = folderOf(file);
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      if (to === '' || to === from || to === 'types') continue;
      const rel = path.relative(path.join(server, to), target);
      assert.ok(rel === 'index.js', `${path.relative(ROOT, file)} imports ${path.relative(ROOT, target)} instead of ${to}/index.js`);
    }
  }
});
