/** First-start setup: not used up by a start that never listened; an ignored JWTGATE_ADMIN_PASSWORD is said out loud. */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { basicAuth, startGateway } from '../helpers/gateway.js';
import { runCli, tempDir } from '../helpers/process.js';

describe('first-start bootstrap', () => {
  it('a start that cannot listen (port busy) creates no admin and no key: the next start still does', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const dataDir = tempDir();
    try {
      const failed = await runCli(['serve', '--port', String((busy.address() as AddressInfo).port), '--data-dir', dataDir], { env: { JWTGATE_ADMIN_PASSWORD: '' } });
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /^jwtgate: listen EADDRINUSE/m);
      assert.doesNotMatch(failed.stdout, /created user admin|generated RSA/, 'nothing announced that was not kept');
      assert.equal((await runCli(['users', 'list', '--json', '--data-dir', dataDir])).stdout.trim(), '[]');
      assert.equal((await runCli(['keys', 'list', '--json', '--data-dir', dataDir])).stdout.trim(), '[]');
    } finally {
      busy.close();
    }
    const gateway = await startGateway({ dataDir, env: { JWTGATE_ADMIN_PASSWORD: '' } });
    try {
      const password = gateway.output().match(/created user admin with generated password: (\S+?)"/)?.[1];
      assert.ok(password, gateway.output());
      assert.match(gateway.output(), /generated RSA 2048 signing key/);
      const res = await fetch(`${gateway.url}/api/whoami`, { headers: { authorization: basicAuth('admin', password) } });
      assert.equal(res.status, 200);
    } finally {
      await gateway.stop();
    }
  });

  it('says, in one warning line, that JWTGATE_ADMIN_PASSWORD is ignored once the store has users, and how to reset', async () => {
    const first = await startGateway();
    await first.stop();
    assert.doesNotMatch(first.output(), /is ignored/);
    const again = await startGateway({ dataDir: first.dataDir, env: { JWTGATE_ADMIN_PASSWORD: 'a-different-password' } });
    await again.stop();
    const warnings = again.output().split('\n').filter((line) => line.includes('JWTGATE_ADMIN_PASSWORD'));
    assert.equal(warnings.length, 1, again.output());
    const line = JSON.parse(warnings[0]!) as { level: string; msg: string };
    assert.equal(line.level, 'warn');
    assert.equal(line.msg, `JWTGATE_ADMIN_PASSWORD is ignored: the store in ${first.dataDir} already has users; to reset the admin password, pipe the new one into: jwtgate users set admin --password-stdin --data-dir ${first.dataDir}`);
    // Without the variable, a later start says nothing about it.
    const quiet = await startGateway({ dataDir: first.dataDir, env: { JWTGATE_ADMIN_PASSWORD: '' } });
    await quiet.stop();
    assert.doesNotMatch(quiet.output(), /JWTGATE_ADMIN_PASSWORD/);
  });
});
