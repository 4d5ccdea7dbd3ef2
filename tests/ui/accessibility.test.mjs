// Every state of the page against axe-core's WCAG 2.1 AA rules, in light
// and dark, wide and narrow: the states a person actually meets.
import { describe, it } from 'node:test';
import { expectAccessible, fakeDesktopBridge, join, openPerson, proxySocket, say, serverAndBrowser, startServer } from './harness.mjs';

describe('accessibility (axe-core, WCAG 2.1 AA)', () => {
  const suite = serverAndBrowser();

  for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
    for (const width of [1100, 360]) {
      it(`${colorScheme}, ${width} px: every state passes`, async () => {
        const room = await startServer({ args: ['--join-timeout', '2', '--history', '8'] });
        try {
          const view = { colorScheme, width, height: 760 };
          const ann = await openPerson(suite.chrome.browser, room.url, null, view);
          await ann.page.locator('#name-dialog').waitFor();
          await expectAccessible(ann.page, 'the name dialog on first visit');

          await ann.page.locator('#status[data-state="idle"]').waitFor();
          await expectAccessible(ann.page, 'resting while a name is picked');

          await ann.page.locator('#name-input').fill('\u2800\u2800');
          await ann.page.locator('#name-submit').click();
          await ann.page.locator('#name-error:not(:empty)').waitFor();
          await expectAccessible(ann.page, 'a refused name');

          await join(ann.page, 'Ann');
          await ann.page.locator('#empty-state').waitFor({ state: 'visible' });
          await expectAccessible(ann.page, 'an empty room');

          const bob = await openPerson(suite.chrome.browser, room.url, 'Bob', view);
          await say(bob.page, 'Hello Ann, see https://example.com/docs and @Ann');
          await say(ann.page, 'Hi Bob');
          await ann.page.locator('.msg', { hasText: 'Hi Bob' }).waitFor();
          await bob.page.locator('#composer-input').pressSequentially('typing', { delay: 20 });
          await ann.page.locator('#typing:not(:empty)').waitFor();
          await expectAccessible(ann.page, 'a conversation, someone typing');

          // Search: results with marked words, then none.
          await ann.page.keyboard.press('Control+K');
          await ann.page.locator('#search-dialog[open]').waitFor();
          await ann.page.locator('#search-input').fill('hello');
          await ann.page.locator('#search-results mark').first().waitFor();
          await expectAccessible(ann.page, 'search with results');
          await ann.page.locator('#search-input').fill('zzzz');
          await ann.page.locator('#search-status', { hasText: 'No messages match' }).waitFor();
          await expectAccessible(ann.page, 'search without results');
          await ann.page.keyboard.press('Escape');

          await ann.page.locator('#composer-input').fill('y'.repeat(17000));
          await ann.page.locator('#composer-error:not(:empty)').waitFor();
          await expectAccessible(ann.page, 'an over-long draft');
          await ann.page.locator('#composer-input').fill('');

          await ann.page.locator('#name-button').click();
          await ann.page.locator('#name-dialog[open]').waitFor();
          await expectAccessible(ann.page, 'the rename dialog');
          await ann.page.keyboard.press('Escape');

          // Bob's page scrolled up when a message arrives: the "new messages" pill.
          for (let i = 0; i < 20; i += 1) await say(ann.page, `line ${i}\nand more\nand more\nand more`);
          await bob.page.locator('.msg', { hasText: 'line 19' }).waitFor({ state: 'attached' });
          await bob.page.locator('#log').evaluate((log) => log.scrollTo(0, 0));
          await bob.page.waitForFunction(() => /** @type {HTMLElement} */ (document.getElementById('log')).scrollTop === 0);
          await say(ann.page, 'one more');
          await bob.page.locator('#new-messages:not([hidden])').waitFor();
          await expectAccessible(bob.page, 'new messages below');

          // A newcomer whose page is fetching earlier messages (the answer held back).
          /** @type {Awaited<ReturnType<typeof proxySocket>> | undefined} */
          let socket;
          const cat = await openPerson(suite.chrome.browser, room.url, null, {
            ...view,
            beforeGoto: async (page) => {
              socket = await proxySocket(page);
              socket.hold.add('history');
            },
          });
          await join(cat.page, 'Cat');
          await cat.page.locator('#messages .msg').first().waitFor();
          await cat.page.locator('#log').evaluate((log) => { log.scrollTop = 0; });
          await cat.page.locator('#history-status', { hasText: 'Loading earlier messages…' }).waitFor();
          await expectAccessible(cat.page, 'loading earlier messages');
          socket?.release();
          await cat.page.locator('#history-status', { hasText: 'Beginning of the conversation' }).waitFor();
          await expectAccessible(cat.page, 'the beginning of the conversation');
          await cat.context.close();

          // The same page as the desktop window shows it, with the host panel.
          const hostContext = await suite.chrome.browser.newContext({ colorScheme, viewport: { width, height: 760 } });
          await hostContext.addInitScript(fakeDesktopBridge, { url: room.url, dataDir: '/home/host/.local/share/app.hearth.desktop' });
          const host = await hostContext.newPage();
          await host.goto(room.url);
          await join(host, 'Host');
          await host.locator('#host-panel:not([hidden])').waitFor();
          await host.locator('#host-storage', { hasText: 'Conversation kept in' }).waitFor();
          await expectAccessible(host, 'the host panel');
          await host.locator('#export-conversation').click();
          await host.locator('#host-result:not(:empty)').waitFor();
          await host.evaluate(() => { /** @type {any} */ (window).__answers.clear_history = { error: 'database is locked' }; });
          await host.locator('#clear-history').click();
          await host.locator('#clear-dialog[open]').waitFor();
          await expectAccessible(host, 'the clear-history confirmation');
          await host.locator('#clear-confirm').click();
          await host.locator('#host-error:not(:empty)').waitFor();
          await expectAccessible(host, 'the host panel after an export and a failed clear');
          await hostContext.close();

          // The same window for an ephemeral room.
          const ephemeralContext = await suite.chrome.browser.newContext({ colorScheme, viewport: { width, height: 760 } });
          await ephemeralContext.addInitScript(fakeDesktopBridge, room.url);
          const ephemeral = await ephemeralContext.newPage();
          await ephemeral.goto(room.url);
          await join(ephemeral, 'Host2');
          await ephemeral.locator('#host-storage', { hasText: 'Not kept' }).waitFor();
          await expectAccessible(ephemeral, 'the host panel of an ephemeral room');
          await ephemeralContext.close();

          await bob.context.close();
          await room.stop();
          await ann.page.locator('#status[data-state="closed"]').waitFor();
          await expectAccessible(ann.page, 'the host closed the room');
          await ann.context.close();
        } finally {
          await room.stop().catch(() => {});
        }
      });
    }
  }
});
