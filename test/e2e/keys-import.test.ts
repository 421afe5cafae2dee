/** `jwtgate keys import`: the happy path on a live store, and every bad input leaves the store unchanged. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { openStore } from '../../server/store/index.js';
import { adminJson, startGateway } from '../helpers/gateway.js';
import { startRecorder } from '../helpers/recorder.js';
import { runCli, tempDir } from '../helpers/process.js';

function writeKey(dir: string, name: string, pem: string | Buffer, mode = 0o600): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, pem, { mode });
  return file;
}

const rsa = (bits: number, type: 'pkcs1' | 'pkcs8') => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type, format: 'pem' });

describe('keys import', () => {
  it('refuses bad keys with one line on stderr and exit code 2, leaving the store unchanged', async () => {
    const dir = tempDir();
    const dataDir = path.join(dir, 'data');
    const first = await runCli(['keys', 'import', '--data-dir', dataDir, '--private-key', writeKey(dir, 'ok.pem', rsa(2048, 'pkcs8'))]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, new RegExp(`^${first.stdout.trim()} signs now`), 'a first key signs at once: there is nothing to publish ahead of');
    assert.match(first.stderr, /\n\S+ is the next key/, 'and a next key is generated beside it');
    const snapshot = async () => {
      const store = openStore({ dataDir, create: false });
      const state = JSON.stringify({ revision: await store.revision(), keys: await store.listKeys() });
      await store.close();
      return state;
    };
    const before = await snapshot();
    const bad: Array<[string, string]> = [
      ['missing file', path.join(dir, 'missing.pem')],
      ['EC key', writeKey(dir, 'ec.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }))],
      ['1024-bit RSA', writeKey(dir, 'short.pem', rsa(1024, 'pkcs8'))],
      ['not a PEM', writeKey(dir, 'garbage.pem', 'hello')],
      ['a directory', dir],
      ['an encrypted key', writeKey(dir, 'enc.pem', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }))],
    ];
    if (process.getuid?.() !== 0) bad.push(['unreadable', writeKey(dir, 'unreadable.pem', rsa(2048, 'pkcs8'), 0o000)]);
    for (const [what, file] of bad) {
      const res = await runCli(['keys', 'import', '--data-dir', dataDir, '--private-key', file]);
      assert.equal(res.code, 2, `${what}: ${res.stderr}`);
      assert.equal(res.stderr.trim().split('\n').length, 1, `${what}: ${res.stderr}`);
      assert.match(res.stderr, /^jwtgate: /);
      assert.equal(res.stdout, '');
    }
    const again = await runCli(['keys', 'import', '--data-dir', dataDir, '--private-key', path.join(dir, 'ok.pem')]);
    assert.equal(again.code, 2, 'the same key twice');
    const removed = await runCli(['keys', 'import', '--data-dir', dataDir, '--private-key', path.join(dir, 'ok.pem'), '--publish-delay', '0']);
    assert.equal(removed.code, 2);
    assert.match(removed.stderr, /--publish-delay was removed/);
    assert.equal(await snapshot(), before, 'the store changed');
    const missingArg = await runCli(['keys', 'import', '--data-dir', dataDir]);
    assert.equal(missingArg.code, 2);
  });

  it('imports a PKCS#1 key on a live gateway as the next key: published at once, signing after a rotation, the old key still published', async () => {
    const gateway = await startGateway();
    const upstream = await startRecorder();
    const kidOfNextToken = async () => {
      await fetch(`${gateway.url}/proxy/`);
      return decodeProtectedHeader(String(upstream.requests.at(-1)?.headers.authorization).replace('Bearer ', '')).kid;
    };
    const publishedKids = async () => ((await (await fetch(`${gateway.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    try {
      await adminJson(gateway, 'PUT', '/admin/proxy', { url: upstream.url });
      const [activeKid, generatedNextKid] = await publishedKids();
      const file = writeKey(tempDir(), 'pkcs1.pem', rsa(3072, 'pkcs1'));
      const res = await runCli(['keys', 'import', '--data-dir', gateway.dataDir, '--private-key', file]);
      assert.equal(res.code, 0, res.stderr);
      const newKid = res.stdout.trim();
      assert.match(newKid, /^[\w-]{43}$/);
      assert.match(res.stderr, new RegExp(`${newKid} is the next key`));
      assert.match(res.stderr, new RegExp(`${generatedNextKid} is retired`), 'the generated next key, which never signed, makes way');
      // The server polls the store (every 200 ms in tests): the JWKS shows the imported key well within 5 s...
      let kids: string[] = [];
      for (let i = 0; i < 50 && !kids.includes(newKid); i++) {
        await new Promise((r) => setTimeout(r, 100));
        kids = await publishedKids();
      }
      assert.deepEqual(kids, [activeKid, newKid], 'the next key present after an import');
      // ...while the active key still signs: the imported key signs at a rotation.
      assert.equal(await kidOfNextToken(), activeKid);
      // Published seconds ago: a routine rotation is refused, a forced one makes it sign.
      const tooSoon = await runCli(['keys', 'rotate', '--data-dir', gateway.dataDir]);
      assert.equal(tooSoon.code, 2, tooSoon.stderr);
      assert.match(tooSoon.stderr, new RegExp(`the next key ${newKid} was published`));
      const forced = await runCli(['keys', 'rotate', '--force', '--data-dir', gateway.dataDir]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(forced.stdout.trim(), newKid);
      let signing: string | undefined;
      for (let i = 0; i < 50 && signing !== newKid; i++) {
        await new Promise((r) => setTimeout(r, 100));
        signing = await kidOfNextToken();
      }
      assert.equal(signing, newKid);
      kids = await publishedKids();
      assert.equal(kids.length, 3);
      assert.deepEqual([kids[0], kids[2]], [newKid, activeKid], 'the old key stays published for the grace period');
    } finally {
      await upstream.close();
      await gateway.stop();
    }
  });
});
