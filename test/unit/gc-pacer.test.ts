import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
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
  it('is available on this runtime without Node flags, and runs a young-generation GC', async () => {
    const collect = minorGc();
    assert.ok(collect, 'V8 gc could not be exposed at run time: the gateway would run without its GC pacer');
    const kinds: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) kinds.push((entry as unknown as { detail: { kind: number } }).detail.kind);
    });
    observer.observe({ entryTypes: ['gc'] });
    try {
      collect();
      // GC performance entries are delivered asynchronously.
      for (let i = 0; i < 50 && !kinds.includes(constants.NODE_PERFORMANCE_GC_MINOR); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      observer.disconnect();
    }
    assert.ok(kinds.includes(constants.NODE_PERFORMANCE_GC_MINOR), `a minor GC ran (kinds seen: ${kinds.join(', ') || 'none'})`);
  });

  it('leaves `gc` out of every later context', () => {
    assert.ok(minorGc());
    assert.equal(vm.runInNewContext('typeof gc'), 'undefined');
  });
});
