/** The audit log's documented action list (docs/http-api.md) is the list the code may write (AUDIT_ACTIONS), and every action written is in it. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { AUDIT_ACTIONS } from '../../server/audit.js';
import { ROOT } from '../helpers/paths.js';

it('docs/http-api.md lists exactly the audit actions of AUDIT_ACTIONS', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/http-api.md'), 'utf8');
  const line = /^- actions: ([\s\S]*?);$/m.exec(doc);
  assert.ok(line, 'docs/http-api.md has a "- actions: ..." item under Audit log');
  const documented = [...line[1]!.matchAll(/`([a-z]+\.[a-z]+)`/g)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...AUDIT_ACTIONS].sort());
});

it('every action literal passed to the audit log in server/ is one of AUDIT_ACTIONS (the type checks it too)', () => {
  const files = fs.readdirSync(path.join(ROOT, 'server'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const written = new Set<string>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, 'server', file), 'utf8');
    // audit.record({ ... action: ... }) and auditCli(config, { action: ... }), also through a const.
    if (!/audit\.record\(|auditCli\(/.test(text)) continue;
    for (const m of text.matchAll(/'((?:proxy|user|key|token|store|session|sessionsecret)\.[a-z]+)'/g)) written.add(m[1]!);
  }
  assert.ok(written.has('token.mint') && written.has('proxy.disable'), [...written].join(', '));
  for (const action of written) assert.ok((AUDIT_ACTIONS as readonly string[]).includes(action), action);
});
