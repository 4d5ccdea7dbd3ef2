// The stored conversation: older pages as the reader scrolls up, the
// beginning of the conversation, and the host clearing it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, openPerson, populate, proxySocket, say, screenshot, startServer } from './harness.mjs';

/** Three lines each, so twenty messages fill the log and it scrolls. */
const text = (/** @type {number} */ i) => `m${i}\nsecond line\nthird line`;

/**
 * The ids and texts of the messages the page shows, top to bottom.
 * @param {import('playwright-core').Page} page
 */
function shown(page) {
  return page.locator('#messages .msg').evaluateAll((items) =>
    items.map((item) => ({
      id: Number(/** @type {HTMLElement} */ (item).dataset.id),
      first: item.classList.contains('first'),
      text: item.querySelector('.text')?.textContent ?? '',
    })));
}

/**
 * Where message `id` is, in px from the top of the log's viewport.
 * @param {import('playwright-core').Page} page
 * @param {number} id
 */
function offsetOf(page, id) {
  return page.evaluate((id) => {
    const log = /** @type {HTMLElement} */ (document.getElementById('log'));
    const item = /** @type {HTMLElement} */ (document.querySelector(`#messages .msg[data-id="${id}"]`));
    return item.getBoundingClientRect().top - log.getBoundingClientRect().top;
  }, id);
}

describe('the stored conversation', () => {
  /** @type {Awaited<ReturnType<typeof launchBrowser>>} */
  let chrome;
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let server;
  /** @type {number[]} */
  let ids;
  /** @type {string[]} */
  let authors;
  before(async () => {
    chrome = await launchBrowser();
    server = await startServer({ args: ['--history', '20', '--rate-limit', '0'] });
    ({ ids, authors } = await populate(chrome.browser, server.url, 120, text));
  });
  after(async () => {
    await chrome?.close();
    await server?.stop();
  });

  it('scrolling up loads older pages in order, grouped as live ones, without the view jumping', async () => {
    /** @type {Awaited<ReturnType<typeof proxySocket>> | undefined} */
    let socket;
    const ann = await openPerson(chrome.browser, server.url, 'Ann', {
      beforeGoto: async (page) => { socket = await proxySocket(page); },
    });
    const proxy = /** @type {Awaited<ReturnType<typeof proxySocket>>} */ (socket);
    const page = ann.page;
    // The welcome brings the last 20, and the page asks for nothing more while they fill the log.
    await page.locator(`#messages .msg[data-id="${ids[119]}"]`).waitFor();
    assert.deepEqual((await shown(page)).map((m) => m.id), ids.slice(100));
    assert.equal(proxy.sent.filter((f) => f.type === 'history').length, 0);
    await page.locator('#load-earlier').waitFor();

    // Scrolled to the top, the page asks for the previous page and says it is loading.
    proxy.hold.add('history');
    await page.locator('#log').evaluate((log) => { log.scrollTop = 0; });
    await page.locator('#history-status[role="status"]', { hasText: 'Loading earlier messages…' }).waitFor();
    assert.deepEqual(proxy.sent.filter((f) => f.type === 'history').map((f) => f.before), [ids[100]]);
    await screenshot(page, 'history-loading.png');
    const topBefore = await offsetOf(page, ids[100]);
    proxy.release();
    await page.locator(`#messages .msg[data-id="${ids[50]}"]`).waitFor({ state: 'attached' });
    // What was at the top of the view is still exactly there.
    const topAfter = await offsetOf(page, ids[100]);
    assert.ok(Math.abs(topAfter - topBefore) < 1, `the first message moved from ${topBefore} to ${topAfter} px`);
    assert.ok(await page.locator('#log').evaluate((log) => log.scrollTop > 0));
    assert.deepEqual((await shown(page)).map((m) => m.id), ids.slice(50));

    // Up again: the first page, and the beginning of the conversation.
    await page.locator('#log').evaluate((log) => { log.scrollTop = 0; });
    await page.locator('#history-status', { hasText: 'Beginning of the conversation' }).waitFor();
    assert.equal(await page.locator('#load-earlier').isVisible(), false);
    const all = await shown(page);
    assert.deepEqual(all.map((m) => m.id), ids);
    assert.deepEqual(all.map((m) => m.text), ids.map((_, i) => text(i + 1)));
    // A header wherever the author changes, across page boundaries too (m49–m51, m100–m102).
    assert.deepEqual(all.map((m) => m.first), authors.map((author, i) => i === 0 || authors[i - 1] !== author));
    // No page was asked for twice, and none after the beginning.
    const asked = proxy.sent.filter((f) => f.type === 'history').map((f) => f.before);
    assert.deepEqual(asked, [ids[100], ids[50]]);
    await screenshot(page, 'history-beginning.png');
    assert.deepEqual(ann.errors, []);
    await ann.context.close();
  });

  it('a newcomer gets the same grouping live as from pages', async () => {
    // Messages sent while the page is open arrive live; compared with the
    // same messages loaded as a page by someone who joins afterwards.
    const room = await startServer({ args: ['--history', '5', '--rate-limit', '0'] });
    try {
      const live = await openPerson(chrome.browser, room.url, 'Liv');
      const { ids: sent } = await populate(chrome.browser, room.url, 10, (i) => `live ${i}`);
      await live.page.locator(`#messages .msg[data-id="${sent[9]}"]`).waitFor();
      const late = await openPerson(chrome.browser, room.url, 'Lou');
      await late.page.locator('#history-status', { hasText: 'Beginning of the conversation' }).waitFor();
      const pick = (/** @type {{id: number, first: boolean}[]} */ list) => list.map((m) => [m.id, m.first]);
      assert.deepEqual(pick(await shown(late.page)), pick(await shown(live.page)));
      await live.context.close();
      await late.context.close();
    } finally {
      await room.stop();
    }
  });

  it('"Load earlier messages" works from the keyboard and keeps focus', async () => {
    const bob = await openPerson(chrome.browser, server.url, 'Bob');
    const page = bob.page;
    await page.locator(`#messages .msg[data-id="${ids[119]}"]`).waitFor();
    await page.locator('#load-earlier').focus();
    // Focus alone loads nothing: the button is there to be pressed.
    assert.equal(await page.locator('#messages .msg').count(), 20);
    await page.keyboard.press('Enter');
    await page.locator(`#messages .msg[data-id="${ids[50]}"]`).waitFor({ state: 'attached' });
    await page.waitForFunction(() => document.activeElement?.id === 'load-earlier');
    assert.equal(await page.locator('#messages .msg').count(), 70);
    await page.keyboard.press('Enter');
    await page.locator('#history-status', { hasText: 'Beginning of the conversation' }).waitFor();
    assert.equal(await page.locator('#messages .msg').count(), 120);
    // The button is gone; focus is not lost to the page.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'log');
    assert.deepEqual(bob.errors, []);
    await bob.context.close();
  });

  it('a room that fits in the log shows the beginning without any scrolling', async () => {
    const room = await startServer();
    try {
      const cy = await openPerson(chrome.browser, room.url, 'Cy');
      await say(cy.page, 'just one');
      await cy.page.locator('.msg', { hasText: 'just one' }).waitFor();
      await cy.page.locator('#history-status', { hasText: 'Beginning of the conversation' }).waitFor();
      await cy.context.close();
    } finally {
      await room.stop();
    }
  });

  it('when the host clears the history, every view empties', async () => {
    // Clearing is the desktop host's (see host-panel.test.mjs); the frame
    // the server then sends everyone is added here to the real socket.
    /** @type {Awaited<ReturnType<typeof proxySocket>> | undefined} */
    let socket;
    const dee = await openPerson(chrome.browser, server.url, 'Dee', {
      beforeGoto: async (page) => { socket = await proxySocket(page); },
    });
    const proxy = /** @type {Awaited<ReturnType<typeof proxySocket>>} */ (socket);
    await dee.page.locator(`#messages .msg[data-id="${ids[119]}"]`).waitFor();
    proxy.inject({ type: 'cleared' });
    await dee.page.locator('.system', { hasText: 'The host cleared the history' }).waitFor();
    assert.equal(await dee.page.locator('#messages .msg').count(), 0);
    assert.equal(await dee.page.locator('#messages > li').count(), 1);
    // Alone with nothing said: the empty room's hint, and nothing older to fetch.
    await dee.page.locator('#empty-state').waitFor();
    assert.equal(await dee.page.locator('#load-earlier').isVisible(), false);
    // The conversation goes on, from its beginning.
    await say(dee.page, 'after the clear');
    await dee.page.locator('.msg', { hasText: 'after the clear' }).waitFor();
    await dee.page.locator('#history-status', { hasText: 'Beginning of the conversation' }).waitFor();
    assert.deepEqual(await dee.page.locator('#messages .msg .text').allTextContents(), ['after the clear']);
    assert.equal(proxy.sent.filter((f) => f.type === 'history').length, 0);
    assert.deepEqual(dee.errors, []);
    await dee.context.close();
  });
});
