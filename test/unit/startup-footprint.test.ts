/**
 * What the gateway loads at start, for its memory footprint (docs/performance.md): undici's
 * Agent without the package index (fetch, WebSocket, cache, mocks), and http-proxy-middleware
 * only at the first WebSocket upgrade.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import DeepAgent from 'undici/lib/dispatcher/agent.js';
import { ROOT } from '../helpers/paths.js';

describe('startup footprint', () => {
  it("undici's agent module is the class the package exports (the deep import still resolves)", () => {
    assert.equal(DeepAgent, Agent);
  });

  it('loading the server loads neither undici/index.js nor http-proxy-middleware', () => {
    const script = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(path.join(ROOT, 'dist/server/gateway/start-gateway.js'))});
      await import(${JSON.stringify(path.join(ROOT, 'dist/server/gateway/http-server.js'))});
      const cache = createRequire(import.meta.url).cache;
      process.stdout.write(JSON.stringify(Object.keys(cache)));
    `;
    const loaded = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
    const rel = loaded.map((file) => path.relative(path.join(ROOT, 'node_modules'), file).split(path.sep).join('/'));
    assert.ok(rel.some((f) => f.startsWith('undici/lib/dispatcher/agent.js')), `the agent is loaded: ${rel.filter((f) => f.startsWith('undici')).join(', ')}`);
    assert.ok(rel.some((f) => f.startsWith('express/')), 'the check sees CommonJS packages');
    assert.deepEqual(rel.filter((f) => f === 'undici/index.js' || f.startsWith('http-proxy-middleware/') || f.startsWith('http-proxy/')), []);
  });
});
