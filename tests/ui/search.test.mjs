// Searching the stored conversation, and jumping to what was found.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, openPerson, populate, proxySocket, rawClient, say, screenshot, startServer } from './harness.mjs';

/** @type {Record<number, string>} */
const SPECIAL = {
  5: 'Meet at the Café Zébra, said Ann',
  60: 'AND then (she) said "hello" * twice',
  110: 'zebra stripes again',
};
const text = (/** @type {number} */ i) => SPECIAL[i] ?? `m${i} filler\nsecond line`;

/**
 * The results the panel lists: author, text, and the marked parts.
 * @param {import('playwright-core').Page} page
 */
function results(page) {
  return page.locator('#search-results button.result').evaluateAll((buttons) =>
    buttons.map((button) => ({
      id: Number(/** @type {HTMLElement} */ (button).dataset.id),
      who: button.querySelector('.who')?.textContent,
      time: button.querySelector('time')?.textContent ?? '',
      text: button.querySelector('.result-text')?.textContent,
      marks: [...button.querySelectorAll('mark')].map((mark) => mark.textContent),
    })));
}

/**
 * Types a query into the open panel and waits for its answer.
 * @param {import('playwright-core').Page} page
 * @param {string} query
 */
async function searchFor(page, query) {
  await page.locator('#search-input').fill(query);
  // The status says "Searching…" from the first key until this query's own answer is shown.
  await page.waitForFunction(() => document.getElementById('search-status')?.dataset.kind !== 'busy');
}

/**
 * Whether message `id` is rendered and inside the log's visible area.
 * @param {import('playwright-core').Page} page
 * @param {number} id
 */
function inView(page, id) {
  return page.evaluate((id) => {
    const log = /** @type {HTMLElement} */ (document.getElementById('log')).getBoundingClientRect();
    const item = document.querySelector(`#messages .msg[data-id="${id}"]`)?.getBoundingClientRect();
    return !!item && item.top >= log.top - 1 && item.bottom <= log.bottom + 1;
  }, id);
}

describe('search', () => {
  /** @type {Awaited<ReturnType<typeof launchBrowser>>} */
  let chrome;
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let server;
  /** @type {number[]} */
  let ids;
  before(async () => {
    chrome = await launchBrowser();
    server = await startServer({ args: ['--history', '20', '--rate-limit', '0'] });
    ({ ids } = await populate(chrome.browser, server.url, 120, text));
  });
  after(async () => {
    await chrome?.close();
    await server?.stop();
  });

  it('finds messages by the start of their words, newest first, with the matches marked', async () => {
    const ann = await openPerson(chrome.browser, server.url, 'Ann');
    const page = ann.page;
    await page.locator('#search-button').click();
    await page.locator('#search-dialog[open]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
    await page.locator('#search-hint').waitFor();

    await searchFor(page, 'zeb');
    assert.deepEqual((await results(page)).map(({ id, who, text, marks }) => ({ id, who, text, marks })), [
      { id: ids[109], who: 'Wren', text: SPECIAL[110], marks: ['zeb'] },
      { id: ids[4], who: 'Yves', text: SPECIAL[5], marks: ['Zéb'] },
    ]);
    assert.ok((await results(page)).every((r) => /\d/.test(r.time)), 'each result shows its time');
    assert.equal(await page.locator('#search-status').textContent(), '2 messages found');

    // Every word must match; case and accents do not matter.
    await searchFor(page, 'CAFE zÉb');
    assert.deepEqual((await results(page)).map((r) => [r.id, r.marks]), [[ids[4], ['Café', 'Zéb']]]);
    await screenshot(page, 'search-results.png');

    await searchFor(page, 'nothing-like-this');
    await page.locator('#search-status', { hasText: 'No messages match' }).waitFor();
    assert.equal(await page.locator('#search-results button').count(), 0);
    await screenshot(page, 'search-none.png');
    assert.deepEqual(ann.errors, []);
    await ann.context.close();
  });

  it('takes any query as plain words: quotes, brackets, stars and operators never cause an error', async () => {
    const bob = await openPerson(chrome.browser, server.url, 'Bob');
    const page = bob.page;
    await page.keyboard.press('Control+K');
    await page.locator('#search-dialog[open]').waitFor();
    /** @type {[string, number[]][]} */
    const cases = [
      ['"', []],
      ['((', []],
      ['*', []],
      ['AND', [ids[59]]],
      ['"hello', [ids[59]]],
      ['(she)', [ids[59]]],
      ['zebra*', [ids[109], ids[4]]],
      ['NEAR(zebra', []],
      ['text:zebra', []],
      ['<b>zebra</b>', []],
    ];
    for (const [query, expected] of cases) {
      await searchFor(page, query);
      assert.notEqual(await page.locator('#search-status').getAttribute('data-kind'), 'error', `query ${query}`);
      assert.deepEqual((await results(page)).map((r) => r.id), expected, `query ${query}`);
      if (expected.length === 0) await page.locator('#search-status', { hasText: 'No messages match' }).waitFor();
    }
    await searchFor(page, 'AND');
    assert.deepEqual((await results(page))[0].marks, ['AND']);
    assert.equal(await page.locator('#search-results b').count(), 0);
    assert.equal(await page.locator('#composer-error').textContent(), '');
    assert.deepEqual(bob.errors, []);
    await bob.context.close();
  });

  it('ignores the answer to a query that is no longer the one typed', async () => {
    /** @type {Awaited<ReturnType<typeof proxySocket>> | undefined} */
    let socket;
    const cy = await openPerson(chrome.browser, server.url, 'Cy', {
      beforeGoto: async (page) => { socket = await proxySocket(page); },
    });
    const proxy = /** @type {Awaited<ReturnType<typeof proxySocket>>} */ (socket);
    const page = cy.page;
    await page.keyboard.press('Control+K');
    proxy.hold.add('results');
    await page.locator('#search-input').fill('zebra');
    await waitUntil(() => proxy.sent.filter((f) => f.type === 'search').length === 1);
    await page.locator('#search-input').fill('AND');
    await waitUntil(() => proxy.sent.filter((f) => f.type === 'search').length === 2);
    assert.deepEqual(proxy.sent.filter((f) => f.type === 'search').map((f) => f.query), ['zebra', 'AND']);
    // The answer for "zebra" arrives late: it is not shown. (A frame sent
    // after it shows when the page has handled both.)
    await waitUntil(() => proxy.held.length === 2);
    proxy.hold.delete('results');
    const [stale, fresh] = proxy.held.splice(0);
    proxy.inject(JSON.parse(stale));
    proxy.inject({ type: 'typing', user: { id: 9999, name: 'Probe' } });
    await page.locator('#typing', { hasText: 'Probe is typing' }).waitFor();
    assert.equal(await page.locator('#search-results button').count(), 0);
    assert.equal(await page.locator('#search-status').getAttribute('data-kind'), 'busy');
    proxy.inject(JSON.parse(fresh));
    await page.locator('#search-status', { hasText: '1 message found' }).waitFor();
    assert.deepEqual((await results(page)).map((r) => r.id), [ids[59]]);
    await cy.context.close();
  });

  it('opens with Ctrl+K or / and closes with Escape, giving focus back; arrows and Enter pick a result', async () => {
    const dee = await openPerson(chrome.browser, server.url, 'Dee');
    const page = dee.page;
    // In the message box, / is a character.
    await page.locator('#composer-input').focus();
    await page.keyboard.type('/');
    assert.equal(await page.locator('#composer-input').inputValue(), '/');
    assert.equal(await page.locator('#search-dialog').isVisible(), false);
    await page.locator('#composer-input').fill('');

    await page.locator('#composer-input').press('Control+k');
    await page.locator('#search-dialog[open]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('#search-dialog').waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'composer-input');

    await page.locator('#name-button').focus();
    await page.keyboard.press('/');
    await page.locator('#search-dialog[open]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'search-input');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'name-button');

    // Meta+K too (Cmd+K on a Mac); the last search is still there.
    await page.keyboard.press('Meta+k');
    await page.locator('#search-dialog[open]').waitFor();
    await page.keyboard.type('zebra');
    await page.locator('#search-status', { hasText: '2 messages found' }).waitFor();
    // Escape closes it even with a query typed, which it keeps for next time.
    await page.keyboard.press('Escape');
    await page.locator('#search-dialog').waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'name-button');
    await page.keyboard.press('Control+K');
    assert.equal(await page.locator('#search-input').inputValue(), 'zebra');
    await page.locator('#search-status', { hasText: '2 messages found' }).waitFor();
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.id), String(ids[109]));
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    assert.equal(await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.id), String(ids[109]));
    await page.keyboard.press('Enter');
    await page.locator('#search-dialog').waitFor({ state: 'hidden' });
    await page.locator(`#messages .msg.found[data-id="${ids[109]}"]`).waitFor();
    assert.ok(await inView(page, ids[109]));
    assert.equal(await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.id), String(ids[109]));
    assert.deepEqual(dee.errors, []);
    await dee.context.close();
  });

  it('a result older than what is shown is fetched, scrolled to and highlighted', async () => {
    /** @type {Awaited<ReturnType<typeof proxySocket>> | undefined} */
    let socket;
    const eve = await openPerson(chrome.browser, server.url, 'Eve', {
      beforeGoto: async (page) => { socket = await proxySocket(page); },
    });
    const proxy = /** @type {Awaited<ReturnType<typeof proxySocket>>} */ (socket);
    const page = eve.page;
    await page.locator(`#messages .msg[data-id="${ids[119]}"]`).waitFor();
    assert.equal(await page.locator(`#messages .msg[data-id="${ids[4]}"]`).count(), 0);
    await page.locator('#search-button').click();
    await searchFor(page, 'café');
    await page.locator('#search-results button.result').first().click();
    await page.locator(`#messages .msg.found[data-id="${ids[4]}"]`).waitFor();
    assert.ok(await inView(page, ids[4]), 'the message is scrolled into view');
    assert.equal(await page.locator('#older-bar').isVisible(), false);
    // One page of older messages reached it, and what is shown is whole and in order.
    assert.deepEqual(proxy.sent.filter((f) => f.type === 'history').slice(0, 1).map((f) => [f.before, f.limit]), [[ids[100], 200]]);
    const shown = await page.locator('#messages .msg').evaluateAll((items) => items.map((item) => Number(/** @type {HTMLElement} */ (item).dataset.id)));
    assert.deepEqual(shown, ids.slice(ids.length - shown.length));
    await screenshot(page, 'search-jump.png');
    assert.deepEqual(eve.errors, []);
    await eve.context.close();
  });
});

describe('search far back', () => {
  /** @type {Awaited<ReturnType<typeof launchBrowser>>} */
  let chrome;
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let server;
  /** @type {number[]} */
  let ids;
  const COUNT = 4400;
  before(async () => {
    chrome = await launchBrowser();
    server = await startServer({ args: ['--history', '20', '--rate-limit', '0', '--room-rate-limit', '0'] });
    ({ ids } = await populate(chrome.browser, server.url, COUNT, (i) => (i === 7 ? 'the long-lost aardvark' : `n${i}`), 550));
  });
  after(async () => {
    await chrome?.close();
    await server?.stop();
  });

  it('a result beyond twenty pages shows the messages around it, then "Jump to latest" goes back', async () => {
    /** @type {Awaited<ReturnType<typeof proxySocket>> | undefined} */
    let socket;
    const fay = await openPerson(chrome.browser, server.url, 'Fay', {
      beforeGoto: async (page) => { socket = await proxySocket(page); },
    });
    const proxy = /** @type {Awaited<ReturnType<typeof proxySocket>>} */ (socket);
    const page = fay.page;
    await page.locator(`#messages .msg[data-id="${ids[COUNT - 1]}"]`).waitFor();
    await page.keyboard.press('Control+K');
    await searchFor(page, 'aardvark');
    const asked = proxy.sent.length;
    await page.locator('#search-results button.result').first().click();
    await page.locator(`#messages .msg.found[data-id="${ids[6]}"]`).waitFor({ timeout: 60000 });
    await page.locator('#older-bar', { hasText: 'You are viewing older messages' }).waitFor();
    assert.ok(await inView(page, ids[6]));
    const history = proxy.sent.slice(asked).filter((f) => f.type === 'history');
    // Twenty pages of 200 up, then the window around the message.
    assert.equal(history.filter((f) => f.limit === 200).length, 20);
    assert.deepEqual(history.slice(20).map((f) => [f.before, f.after, f.limit]), [[ids[6] + 1, undefined, 100], [undefined, ids[6], 100]]);
    const around = await page.locator('#messages .msg').evaluateAll((items) => items.map((item) => Number(/** @type {HTMLElement} */ (item).dataset.id)));
    assert.deepEqual(around, ids.slice(0, 107));
    await page.locator('#history-status', { hasText: 'Beginning of the conversation' }).waitFor();
    await screenshot(page, 'search-window.png');

    // Someone writes meanwhile: counted in the bar, not put after the gap.
    const gus = await rawClient(chrome.browser, server.url, 'Gus');
    const [fresh] = await gus.say(['meanwhile, the latest']);
    await page.locator('#older-bar', { hasText: '1 new' }).waitFor();
    assert.equal(await page.locator(`#messages .msg[data-id="${fresh}"]`).count(), 0);

    await page.locator('#jump-latest').click();
    await page.locator(`#messages .msg[data-id="${fresh}"]`).waitFor();
    assert.equal(await page.locator('#older-bar').isVisible(), false);
    const latest = await page.locator('#messages .msg').evaluateAll((items) => items.map((item) => Number(/** @type {HTMLElement} */ (item).dataset.id)));
    assert.deepEqual(latest, [...ids.slice(COUNT - 99), fresh]);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'composer-input');

    // Sending from older messages goes back to the latest too.
    await page.keyboard.press('Control+K');
    await searchFor(page, 'aardvark');
    await page.locator('#search-results button.result').first().click();
    await page.locator('#older-bar').waitFor();
    await say(page, 'back to the present');
    await page.locator('.msg', { hasText: 'back to the present' }).waitFor();
    assert.equal(await page.locator('#older-bar').isVisible(), false);
    assert.equal(await page.locator(`#messages .msg[data-id="${fresh}"]`).count(), 1);
    assert.deepEqual(fay.errors, []);
    await gus.close();
    await fay.context.close();
  });
});

/**
 * Polls a condition of the test process (not the page) until it holds.
 * @param {() => boolean} condition
 */
async function waitUntil(condition, timeoutMs = 10000) {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
