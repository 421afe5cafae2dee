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
