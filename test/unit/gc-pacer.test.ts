import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import { createGcPacer, minorGc } from '../../server/proxy/gc-pacer.js';

describe('GcPacer', () => {
  it('collects once each time everyBytes more bytes were relayed', () => {
    let collections = 0;
    const pacer = createGcPacer({ everyBytes: 100, collect: () => collections++ });
    pacer.relayed(60);
    assert.equal(collections, 0);
    pacer.relayed(40);
    assert.equal(collections, 1, '100 bytes: one collection');
    for (let i = 0; i < 99; i++) pacer.relayed(1);
    assert.equal(collections, 1);
    pacer.relayed(1);
    assert.equal(collections, 2);
    pacer.relayed(1_000);
    assert.equal(collections, 3, 'one big chunk: one collection, not ten');
  });

  it('does nothing without a collection function or with a non-positive interval', () => {
    let collections = 0;
    createGcPacer({ everyBytes: 100, collect: null }).relayed(1_000);
    createGcPacer({ everyBytes: 0, collect: () => collections++ }).relayed(1_000);
    createGcPacer({ everyBytes: Number.NaN, collect: () => collections++ }).relayed(1_000);
    assert.equal(collections, 0);
  });
});

describe('minorGc', () => {
  it('is available on this runtime without Node flags, and runs', () => {
    const collect = minorGc();
    assert.ok(collect, 'V8 gc could not be exposed at run time: the gateway would run without its GC pacer');
    collect();
    collect();
  });

  it('leaves `gc` out of every later context', () => {
    assert.ok(minorGc());
    assert.equal(vm.runInNewContext('typeof gc'), 'undefined');
  });
});
