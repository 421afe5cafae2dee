/**
 * `jwtgate store backup FILE`: an online, consistent copy of the store while the server serves
 * and writes, restored as docs/deployment.md says into a new data folder, where a gateway starts
 * with the same users, keys, target and deployment id.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { adminJson, basicAuth, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runCli, tempDir } from '../helpers/process.js';
import { startRecorder } from '../helpers/recorder.js';

const KEK = 'b'.repeat(16) + 'backup-encryption-key';
const ALICE = basicAuth('alice', 'alice-password-1');

const backup = (gateway: Pick<TestGateway, 'dataDir'>, file: string, ...extra: string[]) => runCli(['store', 'backup', '--data-dir', gateway.dataDir, file, ...extra]);
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const jwksOf = async (gateway: TestGateway) => (await fetch(`${gateway.url}/.well-known/jwks.json`)).json();

/** The documented restore: a stopped server (here: a new folder), the file as jwtgate.sqlite, no stale -wal/-shm, mode 0600. */
function restore(file: string): string {
  const dataDir = tempDir();
  const store = path.join(dataDir, 'jwtgate.sqlite');
  fs.copyFileSync(file, store);
  for (const stale of ['-wal', '-shm']) fs.rmSync(store + stale, { force: true });
  fs.chmodSync(store, 0o600);
  return dataDir;
}

describe('jwtgate store backup', () => {
  it('copies the store while the server serves and writes; a gateway restored from the copy has the same users, keys and target', async () => {
    const upstream = await startRecorder();
    const gateway = await startGateway({ env: { JWTGATE_KEY_ENCRYPTION_KEY: KEK } });
    let restored: TestGateway | undefined;
    try {
      assert.equal((await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url })).status, 200);
      assert.equal((await adminJson(gateway, 'PUT', '/admin/users/alice', { password: 'alice-password-1', roles: ['ROLE_USER'] })).status, 201);
      // Two keys with private material: the new active one and the new next one (the retiring one has only its public key).
      assert.equal((await adminJson(gateway, 'POST', '/admin/keys/rotate', {})).status, 201);
      const jwks = await jwksOf(gateway);
      assert.equal(await fetch(`${gateway.url}/proxy/x`, { headers: { authorization: ALICE } }).then((r) => r.status), 200);
      const via = upstream.requests.at(-1)!.headers.via;

      // A writer changes the store for as long as the backup runs.
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          assert.equal((await adminJson(gateway, 'PUT', `/admin/users/u${written}`, { roles: ['ROLE_USER'] })).status, 201);
          written++;
        }
      })();
      while (written < 3) await new Promise((r) => setTimeout(r, 5));
      const file = path.join(tempDir(), 'jwtgate-backup.sqlite');
      const result = await backup(gateway, file);
      writing = false;
      await writer;

      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^backed up ${gateway.dataDir}/jwtgate\\.sqlite to ${file} \\(\\d+ bytes, mode 0600\\): \\d+ users, 2 private keys \\(sealed\\), proxy ${upstream.url}\\n$`));
      assert.equal(result.stderr, '', 'no warning: the keys are sealed');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['jwtgate-backup.sqlite'], 'no partial or companion file is left behind');
      const audit = fs.readFileSync(path.join(gateway.dataDir, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { action: string; target: string });
      assert.deepEqual(audit.filter((e) => e.action === 'store.backup').map((e) => e.target), [file]);

      restored = await startGateway({ dataDir: restore(file), env: { JWTGATE_KEY_ENCRYPTION_KEY: KEK, JWTGATE_ADMIN_PASSWORD: 'not-the-restored-one' } });
      // The admin of the backup (a new bootstrap would have taken the password above), alice, and a
      // consistent prefix of the writer's users: u0..u(k-1), none missing in between.
      const users = (await adminJson(restored, 'GET', '/admin/users')).body as { name: string }[];
      const names = users.map((u) => u.name);
      const copied = names.filter((n) => n.startsWith('u')).length;
      assert.ok(copied >= 3 && copied <= written, `${copied} of ${written} writer users in the backup`);
      assert.deepEqual(new Set(names), new Set(['admin', 'alice', ...Array.from({ length: copied }, (_, i) => `u${i}`)]));
      assert.match(result.stdout, new RegExp(`: ${copied + 2} users,`));
      assert.deepEqual(await jwksOf(restored), jwks);
      // Same target, same signing key, same deployment (Via) and alice's password.
      assert.equal(await fetch(`${restored.url}/proxy/x`, { headers: { authorization: ALICE } }).then((r) => r.status), 200);
      const seen = upstream.requests.at(-1)!.headers;
      assert.equal(decodeProtectedHeader(String(seen.authorization).slice(7)).kid, decodeProtectedHeader(String(upstream.requests.at(-2)!.headers.authorization).slice(7)).kid);
      assert.equal(seen.via, via);

      // The copy holds the keys sealed: without the same JWTGATE_KEY_ENCRYPTION_KEY it cannot sign.
      const refused = await runCli(['serve', '--port', '0', '--data-dir', restore(file)], { env: { JWTGATE_KEY_ENCRYPTION_KEY: '' } });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /set JWTGATE_KEY_ENCRYPTION_KEY/);
    } finally {
      await restored?.stop();
      await gateway.stop();
      await upstream.close();
    }
  });

  it('the CLI: one line and exit 2 for an existing FILE, --force replaces it, keys in clear are warned about', async () => {
    const gateway = await startGateway();
    try {
      const file = path.join(tempDir(), 'store.sqlite');
      const first = await backup(gateway, file);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /: 1 user, 2 private keys \(2 in clear\), proxy \(disabled\)\n$/);
      assert.equal(first.stderr, 'warning: the backup holds private keys in clear: whoever reads it can sign tokens for any user (set JWTGATE_KEY_ENCRYPTION_KEY to seal them)\n');
      const before = sha256(file);

      assert.equal((await adminJson(gateway, 'PUT', '/admin/users/bob', { roles: ['ROLE_USER'] })).status, 201);
      const again = await backup(gateway, file);
      assert.equal(again.code, 2);
      assert.equal(again.stderr, `jwtgate: ${file} exists: pass --force to replace it\n`);
      assert.equal(sha256(file), before);

      const forced = await backup(gateway, file, '--force');
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(forced.stdout, /: 2 users,/);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);

      const missing = await runCli(['store', 'backup', '--data-dir', tempDir(), file]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^jwtgate: no store at .*jwtgate\.sqlite/);
    } finally {
      await gateway.stop();
    }
  });
});
