/** Private keys sealed at rest with JWTGATE_KEY_ENCRYPTION_KEY; a wrong or missing key refuses to start. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startGateway } from '../helpers/gateway.js';
import { runCli } from '../helpers/process.js';
import { CLI } from '../helpers/paths.js';
import { spawnUntil } from '../helpers/process.js';

const KEK = 'k'.repeat(16) + 'correct-encryption-key';
const WRONG = 'w'.repeat(16) + 'another-encryption-key';

function storeBytes(dir: string): string {
  return ['jwtgate.sqlite', 'jwtgate.sqlite-wal'].map((f) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f)).toString('latin1') : '')).join('');
}

describe('key encryption at rest', () => {
  it('seals private keys, signs with them, and refuses a wrong or missing key with a clear message (exit 2)', async () => {
    const gateway = await startGateway({ env: { JWTGATE_KEY_ENCRYPTION_KEY: KEK } });
    const rotate = await runCli(['keys', 'rotate', '--data-dir', gateway.dataDir], { env: { JWTGATE_KEY_ENCRYPTION_KEY: KEK } });
    assert.equal(rotate.code, 0, rotate.stderr);
    const mint = await runCli(['token', 'mint', '--sub', 'a', '--data-dir', gateway.dataDir], { env: { JWTGATE_KEY_ENCRYPTION_KEY: KEK } });
    assert.equal(mint.code, 0, mint.stderr);
    assert.equal(await gateway.stop(), 0);
    const bytes = storeBytes(gateway.dataDir);
    assert.match(bytes, /sealed:v1:/);
    assert.doesNotMatch(bytes, /BEGIN PRIVATE KEY/);

    for (const [env, message] of [[{ JWTGATE_KEY_ENCRYPTION_KEY: WRONG }, /wrong key/], [{}, /set JWTGATE_KEY_ENCRYPTION_KEY/]] as const) {
      const res = await runCli(['serve', '--port', '0', '--data-dir', gateway.dataDir], { env: { JWTGATE_KEY_ENCRYPTION_KEY: '', ...env } });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
      const mintWrong = await runCli(['token', 'mint', '--sub', 'a', '--data-dir', gateway.dataDir], { env: { JWTGATE_KEY_ENCRYPTION_KEY: '', ...env } });
      assert.equal(mintWrong.code, 2, mintWrong.stderr);
    }
    // A sealed store is never given a key in clear, nor a key sealed under another secret.
    for (const env of [{ JWTGATE_KEY_ENCRYPTION_KEY: '' }, { JWTGATE_KEY_ENCRYPTION_KEY: WRONG }]) {
      const res = await runCli(['keys', 'rotate', '--data-dir', gateway.dataDir], { env });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /JWTGATE_KEY_ENCRYPTION_KEY/);
    }
    const tooShort = await runCli(['serve', '--port', '0', '--data-dir', gateway.dataDir], { env: { JWTGATE_KEY_ENCRYPTION_KEY: 'short' } });
    assert.equal(tooShort.code, 2);
    assert.match(tooShort.stderr, /at least 32/);
  });

  it('seals keys that were stored in clear when the key is set later', async () => {
    const gateway = await startGateway({ env: { JWTGATE_KEY_ENCRYPTION_KEY: '' } });
    await gateway.stop();
    assert.match(storeBytes(gateway.dataDir), /BEGIN PRIVATE KEY/);
    const { spawned } = await spawnUntil(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', gateway.dataDir], /listening on/, { env: { JWTGATE_KEY_ENCRYPTION_KEY: KEK } });
    assert.match(spawned.output(), /encrypted the stored private keys/);
    await spawned.stop();
    assert.doesNotMatch(storeBytes(gateway.dataDir), /BEGIN PRIVATE KEY/, 'no plaintext key left in the file or the WAL');
    const opened = await runCli(['token', 'mint', '--sub', 'a', '--data-dir', gateway.dataDir], { env: { JWTGATE_KEY_ENCRYPTION_KEY: KEK } });
    assert.equal(opened.code, 0, opened.stderr);
  });
});
