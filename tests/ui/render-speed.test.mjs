// Link detection in V8 without a browser: the JavaScript engine of Node
// still backtracks quadratically on a `$`-anchored regex over a run of dots
// (as WebKit, the desktop window's engine, does), so the benchmark here
// catches that even where the Chromium in use happens to optimise it away.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

/** Just enough of the DOM for format.js to build its nodes. */
class FakeElement {
  constructor() {
    /** @type {unknown[]} */
    this.children = [];
    this.textContent = '';
    this.className = '';
    this.style = {};
  }
  /** @param {...unknown} nodes */
  append(...nodes) {
    this.children.push(...nodes);
  }
  setAttribute() {}
}

describe('link detection in V8', () => {
  it('stays linear on pathological input (benchmark: 50 rounds)', async () => {
    /** @type {any} */ (globalThis).document = {
      createElement: () => new FakeElement(),
      createTextNode: (/** @type {string} */ text) => text,
    };
    const { PATHOLOGICAL } = await import('./pathological.mjs');
    const format = await import('../../ui/message/format.js');
    const rounds = 50;
    const perInput = PATHOLOGICAL.map(() => 0);
    const started = performance.now();
    for (let round = 0; round < rounds; round += 1) {
      PATHOLOGICAL.forEach((text, i) => {
        const t0 = performance.now();
        format.messageText(text, 'Ann');
        perInput[i] += performance.now() - t0;
      });
    }
    const total = performance.now() - started;
    console.log(`render benchmark (node): ${rounds} rounds × ${PATHOLOGICAL.length} inputs in ${total.toFixed(0)} ms; ` +
      `per message ${perInput.map((ms) => (ms / rounds).toFixed(2)).join(' / ')} ms`);
    // The quadratic regex took about 600 ms per message here.
    for (const ms of perInput) assert.ok(ms / rounds < 20, `${ms / rounds} ms for one message`);
    assert.ok(total < 5000, `${total} ms in all`);
  });
});
