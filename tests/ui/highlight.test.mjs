// Marking the words a search matched, in Node without a browser: what is
// marked, and that it stays linear on text crafted to make it slow.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { PATHOLOGICAL } from './pathological.mjs';

/** Just enough of the DOM for render.js to build its nodes. */
class FakeElement {
  /** @param {string} tag */
  constructor(tag) {
    this.tag = tag;
    /** @type {unknown[]} */
    this.children = [];
    this.className = '';
    this.style = {};
    /** @type {string} */
    this.text = '';
  }
  set textContent(value) {
    this.text = value;
  }
  get textContent() {
    return this.text + this.children.map((c) => (typeof c === 'string' ? c : /** @type {FakeElement} */ (c).textContent)).join('');
  }
  /** @param {...unknown} nodes */
  append(...nodes) {
    this.children.push(...nodes);
  }
  setAttribute() {}
}

/** @type {typeof import('../../ui/message/render.js')} */
let render;

describe('search highlighting', () => {
  before(async () => {
    /** @type {any} */ (globalThis).document = {
      createElement: (/** @type {string} */ tag) => new FakeElement(tag),
      createTextNode: (/** @type {string} */ text) => text,
    };
    render = await import('../../ui/message/render.js');
  });

  /**
   * The marked parts of `text` for `query`.
   * @param {string} text
   * @param {string} query
   */
  const marked = (text, query) => render.matchRanges(text, render.searchTerms(query)).map(([a, b]) => text.slice(a, b));

  it('marks the start of each word a query word begins, ignoring case and accents', () => {
    assert.deepEqual(marked('Meet at the Café Zébra', 'caf zeb'), ['Caf', 'Zéb']);
    assert.deepEqual(marked('Meet at the Café Zébra', 'CAFE'), ['Café']);
    // A decomposed accent stays with its letter.
    assert.deepEqual(marked('Cafe\u0301 au lait', 'cafe'), ['Cafe\u0301']);
    assert.deepEqual(marked('naïve NAIVE naive', 'naï'), ['naï', 'NAI', 'nai']);
    // Only word starts: "tea" is not in "steam".
    assert.deepEqual(marked('steam tea teapot', 'tea'), ['tea', 'tea']);
    // Symbols and emoji are words too; punctuation is not.
    assert.deepEqual(marked('party 🎉 time', '🎉'), ['🎉']);
    assert.deepEqual(marked('"quoted" (text) *star*', '"quo (te *st'), ['quo', 'te', 'st']);
  });

  it('queries without words mark nothing', () => {
    for (const query of ['"', '((', '*', '', '   ', '-- ::']) {
      assert.deepEqual(render.searchTerms(query), [], `query ${JSON.stringify(query)}`);
      assert.deepEqual(marked('anything "at" all (( * ))', query), []);
    }
    // Operators are plain words.
    assert.deepEqual(marked('this AND that, android', 'AND'), ['AND', 'and']);
  });

  it('a long message shows an excerpt around its first match', () => {
    const text = `${'lorem ipsum '.repeat(200)}the needle is here ${'dolor sit '.repeat(200)}`;
    const snippet = /** @type {any} */ (render.highlightedSnippet(text, render.searchTerms('needle')));
    const shown = snippet.textContent;
    assert.ok(shown.length <= 282, `${shown.length} characters`);
    assert.ok(shown.startsWith('…') && shown.endsWith('…'), shown);
    assert.ok(shown.includes('the needle is here'), shown);
    const marks = snippet.children.filter((/** @type {any} */ c) => c instanceof FakeElement && c.tag === 'mark');
    assert.deepEqual(marks.map((/** @type {any} */ m) => m.textContent), ['needle']);
    // Never half a surrogate pair at either end.
    const emoji = `${'😀'.repeat(300)} needle ${'😀'.repeat(300)}`;
    const cut = /** @type {any} */ (render.highlightedSnippet(emoji, render.searchTerms('needle'))).textContent;
    assert.ok(!/^…[\udc00-\udfff]/.test(cut) && !/[\ud800-\udbff]…$/.test(cut), 'whole characters');
  });

  it('stays linear on pathological input (benchmark: 20 rounds)', () => {
    const inputs = [
      ...PATHOLOGICAL,
      'a'.repeat(16000),
      'a '.repeat(8000),
      'e\u0301'.repeat(5000),
      `${'a'.repeat(8000)} ${'b'.repeat(8000)}`,
      '🎉'.repeat(4000),
    ];
    const queries = ['a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab', 'e é ann http', Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')];
    const rounds = 20;
    let worst = 0;
    const started = performance.now();
    for (let round = 0; round < rounds; round += 1) {
      for (const text of inputs) {
        for (const query of queries) {
          const t0 = performance.now();
          render.highlightedSnippet(text, render.searchTerms(query));
          render.matchRanges(text, render.searchTerms(query));
          worst = Math.max(worst, performance.now() - t0);
        }
      }
    }
    const total = performance.now() - started;
    console.log(`highlight benchmark (node): ${rounds} rounds × ${inputs.length} texts × ${queries.length} queries in ${total.toFixed(0)} ms; worst ${worst.toFixed(2)} ms`);
    assert.ok(worst < 50, `${worst} ms for one message`);
    assert.ok(total < 10000, `${total} ms in all`);
  });
});
