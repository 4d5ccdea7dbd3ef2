// Losing and regaining the room: a dropped socket, and the host restarting.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, openPerson, populate, proxySocket, recordSockets, say, startServer } from './harness.mjs';

describe('reconnecting', () => {
  /** @type {Awaited<ReturnType<typeof launchBrowser>>} */
  let chrome;
  before(async () => {
    chrome = await launchBrowser();
  });
  after(async () => {
    await chrome?.close();
  });

  it('a dropped connection comes back without duplicating history', async () => {
    const server = await startServer();
    try {
      const ann = await openPerson(chrome.browser, server.url, null);
      await ann.page.addInitScript(recordSockets);
      await ann.page.reload();
      await ann.page.locator('#name-input').fill('Ann');
      await ann.page.locator('#name-submit').click();
      const bob = await openPerson(chrome.browser, server.url, 'Bob');
      for (const text of ['one', 'two', 'three']) await say(bob.page, text);
      await ann.page.locator('.msg', { hasText: 'three' }).waitFor();

      await ann.page.evaluate(() => /** @type {any} */ (window).__sockets.at(-1).close());
      await ann.page.locator('#status[data-state="reconnecting"]').waitFor();
      await ann.page.locator('#status[data-state="connected"]').waitFor();
      await ann.page.waitForFunction(() => /** @type {any} */ (window).__sockets.length === 2);
      await say(bob.page, 'four');
      await ann.page.locator('.msg', { hasText: 'four' }).waitFor();
      const texts = await ann.page.locator('.msg .text').allTextContents();
      assert.deepEqual(texts, ['one', 'two', 'three', 'four']);
      assert.equal(await ann.page.locator('#my-name').textContent(), 'Ann');
      await ann.context.close();
      await bob.context.close();
    } finally {
      await server.stop();
    }
  });

  it('a newcomer who takes their time to pick a name is not bounced around', async () => {
    // The server closes sockets that do not join in time (here 1 s); the
    // page rests until a name is picked, then joins at once.
    const server = await startServer({ args: ['--join-timeout', '1'] });
    try {
      const slow = await openPerson(chrome.browser, server.url, null);
      await slow.page.addInitScript(recordSockets);
      await slow.page.reload();
      await slow.page.locator('#status[data-state="idle"]', { hasText: 'Pick a name to join' }).waitFor();
      assert.deepEqual(await slow.page.evaluate(() => /** @type {any} */ (window).__closeCodes), [1008]);
      assert.equal(await slow.page.locator('#composer-error').textContent(), '');
      assert.equal(await slow.page.locator('#name-dialog').isVisible(), true);
      await slow.page.locator('#name-input').fill('Slow');
      await slow.page.locator('#name-submit').click();
      await slow.page.locator('#status[data-state="connected"]').waitFor();
      await slow.page.locator('#my-name', { hasText: 'Slow' }).waitFor();
      await say(slow.page, 'made it');
      await slow.page.locator('.msg', { hasText: 'made it' }).waitFor();
      assert.deepEqual(slow.errors, []);
      await slow.context.close();
    } finally {
      await server.stop();
    }
  });

  it('says the host closed the room, then recovers when it is back, with a new conversation when the room is new', async () => {
    let server = await startServer();
    const port = server.port;
    const ann = await openPerson(chrome.browser, server.url, 'Ann');
    await say(ann.page, 'before the restart');
    await ann.page.locator('.msg', { hasText: 'before the restart' }).waitFor();
    await ann.page.locator('#composer-input').fill('kept draft');

    await server.stop();
    await ann.page.locator('#status[data-state="closed"]', { hasText: 'The host closed the room' }).waitFor();
    assert.equal(await ann.page.locator('#send-button').isDisabled(), true);
    assert.equal(await ann.page.locator('#composer-input').inputValue(), 'kept draft');

    // An ephemeral room comes back as another room (another `welcome.room`):
    // another conversation, so the old one is no longer shown.
    server = await startServer({ port });
    try {
      await ann.page.locator('#status[data-state="connected"]').waitFor({ timeout: 30000 });
      await ann.page.locator('.system', { hasText: 'The room restarted' }).waitFor();
      const bob = await openPerson(chrome.browser, server.url, 'Bob');
      await say(bob.page, 'after the restart');
      await ann.page.locator('.msg', { hasText: 'after the restart' }).waitFor();
      const texts = await ann.page.locator('.msg .text').allTextContents();
      assert.deepEqual(texts, ['after the restart']);
      assert.equal(await ann.page.locator('#composer-input').inputValue(), 'kept draft');
      await bob.context.close();
    } finally {
      await ann.context.close();
      await server.stop();
    }
  });

  it('after a restart on the same data directory, the view stays and what was missed is filled in', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'hearth-data-'));
    const args = ['--history', '20', '--rate-limit', '0'];
    let server = await startServer({ dataDir, args });
    const port = server.port;
    try {
      /** @type {Awaited<ReturnType<typeof proxySocket>> | undefined} */
      let socket;
      const ann = await openPerson(chrome.browser, server.url, 'Ann', {
        beforeGoto: async (page) => { socket = await proxySocket(page); },
      });
      const proxy = /** @type {Awaited<ReturnType<typeof proxySocket>>} */ (socket);
      const seen = await populate(chrome.browser, server.url, 5, (i) => `seen ${i}`);
      await ann.page.locator(`#messages .msg[data-id="${seen.ids[4]}"]`).waitFor();
      await ann.page.locator('.system', { hasText: 'Wren left' }).waitFor();
      await server.stop();
      await ann.page.locator('#status[data-state="closed"]').waitFor();

      // The room goes on without Ann's page (on another port, so it cannot
      // come back early): more messages than a welcome carries.
      const elsewhere = await startServer({ dataDir, args });
      const missed = await populate(chrome.browser, elsewhere.url, 70, (i) => `missed ${i}`);
      await elsewhere.stop();

      server = await startServer({ dataDir, args, port });
      await ann.page.locator('#status[data-state="connected"]').waitFor({ timeout: 30000 });
      await ann.page.locator(`#messages .msg[data-id="${missed.ids[0]}"]`).waitFor({ state: 'attached' });
      await ann.page.waitForFunction((n) => document.querySelectorAll('#messages .msg').length >= n, 75);
      const shown = await ann.page.locator('#messages > li').evaluateAll((items) =>
        items.map((item) => /** @type {HTMLElement} */ (item).dataset.id ? Number(/** @type {HTMLElement} */ (item).dataset.id) : item.textContent));
      const messages = shown.filter((entry) => typeof entry === 'number');
      // Every message once, in order; the lines seen before the restart are still there, above what was missed.
      assert.deepEqual(messages, [...seen.ids, ...missed.ids]);
      assert.ok(shown.indexOf('Wren left') > shown.indexOf(seen.ids[4]) && shown.indexOf('Wren left') < shown.indexOf(missed.ids[0]), JSON.stringify(shown));
      assert.equal(await ann.page.locator('.system', { hasText: 'The room restarted' }).count(), 0);
      // The welcome brought the last 20; the page asked for the rest, from the last one it showed.
      const gapPages = proxy.sent.filter((f) => f.type === 'history' && f.after !== undefined);
      assert.deepEqual(gapPages.map((f) => [f.after, f.limit]), [[seen.ids[4], 200]]);
      assert.deepEqual(ann.errors, []);
      await ann.context.close();
    } finally {
      await server.stop().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
