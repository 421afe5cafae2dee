import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, verifyPassword } from '../../server/identity/index.js';

describe('password hashing', () => {
  it('verifies the right password and refuses others', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.match(hash, /^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    assert.equal(await verifyPassword('correct horse battery staple', hash), true);
    assert.equal(await verifyPassword('correct horse battery stapl', hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });

  it('salts every hash', async () => {
    assert.notEqual(await hashPassword('same password'), await hashPassword('same password'));
  });

  it('keeps colons and non-ASCII characters', async () => {
    const hash = await hashPassword('a:b:c — ünïcødé');
    assert.equal(await verifyPassword('a:b:c — ünïcødé', hash), true);
    assert.equal(await verifyPassword('a', hash), false);
  });

  it('never throws on a malformed stored hash', async () => {
    for (const bad of ['', 'plain', 'scrypt$x$8$1$aa$bb', 'scrypt$16384$8$1$aa$', 'bcrypt$1$2$3$4$5']) {
      assert.equal(await verifyPassword('anything', bad), false, bad);
    }
  });
});
