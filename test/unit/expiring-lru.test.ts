import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpiringLru } from '../../server/expiring-lru.js';

describe('ExpiringLru', () => {
  it('never returns an expired entry, and drops it', () => {
    const lru = new ExpiringLru<string>(10);
    lru.set('a', 'A', 100);
    assert.equal(lru.get('a', 99), 'A');
    assert.equal(lru.get('a', 100), undefined);
    assert.equal(lru.size, 0);
  });

  it('evicts the least recently used entry when full', () => {
    const lru = new ExpiringLru<number>(2);
    lru.set('a', 1, Infinity);
    lru.set('b', 2, Infinity);
    assert.equal(lru.get('a', 0), 1, 'a is now the most recently used');
    lru.set('c', 3, Infinity);
    assert.equal(lru.get('b', 0), undefined);
    assert.equal(lru.get('a', 0), 1);
    assert.equal(lru.get('c', 0), 3);
  });

  it('delete with a value only drops the entry while it still holds that value', () => {
    const lru = new ExpiringLru<object>(10);
    const first = {};
    const second = {};
    lru.set('k', first, Infinity);
    lru.set('k', second, Infinity);
    lru.delete('k', first);
    assert.equal(lru.get('k', 0), second);
    lru.delete('k');
    assert.equal(lru.get('k', 0), undefined);
  });
});
