// The host panel of the desktop window, against a stand-in for Tauri's
// bridge that records what the page invokes and answers as the app would.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectAccessible, fakeDesktopBridge, join, screenshot, serverAndBrowser } from './harness.mjs';

const DATA_DIR = '/home/host/.local/share/app.hearth.desktop';

describe('the host panel', () => {
  const suite = serverAndBrowser();

  /**
   * The page as the desktop window shows it.
   * @param {{dataDir?: string | null, answers?: Record<string, unknown>}} [bridge]
   */
  async function openHost(bridge = {}) {
    const context = await suite.chrome.browser.newContext({ viewport: { width: 1100, height: 760 } });
    await context.addInitScript(fakeDesktopBridge, { url: suite.server.url, ...bridge });
    const page = await context.newPage();
    /** @type {Error[]} */
    const errors = [];
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(suite.server.url);
    await join(page, 'Host');
    await page.locator('#host-panel:not([hidden])').waitFor();
    /** @returns {Promise<{cmd: string, args?: any}[]>} */
    const invoked = () => page.evaluate(() => /** @type {any} */ (window).__invoked);
    /** @param {string} cmd @param {unknown} answer */
    const answer = (cmd, answer) => page.evaluate(([cmd, answer]) => { /** @type {any} */ (window).__answers[/** @type {string} */ (cmd)] = answer; }, [cmd, answer]);
    return { context, page, errors, invoked, answer };
  }

  it('says where the conversation is kept and opens that folder', async () => {
    const host = await openHost({ dataDir: DATA_DIR });
    assert.equal(await host.page.locator('#host-storage').textContent(), `Conversation kept in ${DATA_DIR}`);
    await host.page.locator('#open-data-folder').click();
    await host.page.waitForFunction(() => /** @type {any} */ (window).__invoked.some((/** @type {any} */ i) => i.cmd === 'open_data_folder'));
    // An error from the app (a string, as Tauri rejects) shows in the panel.
    await host.answer('open_data_folder', { error: 'cannot open /nowhere: no file manager' });
    await host.page.locator('#open-data-folder').click();
    await host.page.locator('#host-error[role="alert"]', { hasText: 'cannot open /nowhere: no file manager' }).waitFor();
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('asks before closing the room on the others, and remembers the answer when told to', async () => {
    const host = await openHost({ dataDir: DATA_DIR });
    const page = host.page;
    const setting = page.locator('#when-closed');
    assert.equal(await setting.inputValue(), 'ask');
    // The app asks when its window is closed while 2 others are connected.
    await page.evaluate(() => /** @type {any} */ (window).__emit('close-requested', 2));
    const dialog = page.locator('#close-dialog[open]');
    await dialog.waitFor();
    assert.equal(await page.locator('#close-room').textContent(), 'Close the room for 2 people');
    assert.match(await page.locator('#close-text').textContent() ?? '', /2 other people are still connected/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'close-keep', 'the safe choice has the focus');
    await expectAccessible(page, 'close prompt');
    await screenshot(page, 'host-close-prompt.png');
    // Escape keeps everything as it was: the window stays, nothing is invoked.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await host.invoked()).some((i) => i.cmd === 'close_choice'), false);

    await page.evaluate(() => /** @type {any} */ (window).__emit('close-requested', 1));
    await dialog.waitFor();
    assert.equal(await page.locator('#close-room').textContent(), 'Close the room for 1 person');
    await page.locator('#close-remember').check();
    await page.locator('#close-keep').click();
    await page.waitForFunction(() => /** @type {any} */ (window).__invoked.some((/** @type {any} */ i) => i.cmd === 'close_choice'));
    const choice = (await host.invoked()).find((i) => i.cmd === 'close_choice');
    assert.deepEqual(choice?.args, { choice: 'keep_hosting', remember: true });
    assert.equal(await setting.inputValue(), 'keep_hosting', 'the panel shows the remembered choice');

    // The panel changes it back.
    await setting.selectOption('ask');
    await page.waitForFunction(() => /** @type {any} */ (window).__invoked.some((/** @type {any} */ i) => i.cmd === 'set_when_closed'));
    assert.deepEqual((await host.invoked()).find((i) => i.cmd === 'set_when_closed')?.args, { whenClosed: 'ask' });
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('says who counts, and keeps the address whole', async () => {
    const host = await openHost({ dataDir: DATA_DIR, answers: { room_stats: { connections: 2, people: 2 } } });
    const page = host.page;
    await page.reload();
    const connected = page.locator('#host-connected');
    /** @param {string} text */
    const says = (text) => page.waitForFunction((text) => document.getElementById('host-connected')?.textContent === text, text);
    await says('2 people in the room, you included');
    assert.equal(await page.locator('#host-count').textContent(), '2');
    // The app's event changes it: the count is the room's, whatever the connections.
    await page.evaluate(() => /** @type {any} */ (window).__emit('room-stats', { connections: 3, people: 1 }));
    await says('1 person in the room, you included');
    await page.evaluate(() => /** @type {any} */ (window).__emit('room-stats', { connections: 5, people: 231 }));
    await says('231 people in the room, you included');
    assert.equal(await page.locator('#host-count').textContent(), '231');
    await page.evaluate(() => /** @type {any} */ (window).__emit('room-stats', { connections: 1, people: 0 }));
    await says('Nobody has joined yet');
    await expectAccessible(page, 'the host panel with nobody in the room');
    // The address stays on one line at the default window size.
    const tops = await page.locator('#host-address').evaluate((element) => [...element.getClientRects()].map((r) => [r.top, r.width, element.parentElement?.clientWidth]));
    assert.equal(new Set(tops.map((t) => t[0])).size, 1, `the room address is on one line: ${JSON.stringify(tops)}`);
    assert.equal(await connected.count(), 1);
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('does not count the host in before the window has joined, and does once it has', async () => {
    const context = await suite.chrome.browser.newContext({ viewport: { width: 1100, height: 760 } });
    await context.addInitScript(fakeDesktopBridge, { url: suite.server.url, answers: { room_stats: { connections: 3, people: 2 } } });
    const page = await context.newPage();
    /** @type {Error[]} */
    const errors = [];
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(suite.server.url);
    await page.locator('#host-panel:not([hidden])').waitFor();
    await page.locator('#name-dialog[open]').waitFor();
    /** @param {string} text */
    const says = (text) => page.waitForFunction((text) => document.getElementById('host-connected')?.textContent === text, text);
    await says('2 people in the room');
    await page.evaluate(() => /** @type {any} */ (window).__emit('room-stats', { connections: 3, people: 1 }));
    await says('1 person in the room');
    // Joined: the same numbers now include the host (the next event brings the new count).
    await join(page, 'Hostess');
    await says('1 person in the room, you included');
    await page.evaluate(() => /** @type {any} */ (window).__emit('room-stats', { connections: 3, people: 3 }));
    await says('3 people in the room, you included');
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('an ephemeral room says nothing is kept, and has no folder to open', async () => {
    const host = await openHost({ dataDir: null });
    assert.equal(await host.page.locator('#host-storage').textContent(), 'Not kept: this room is ephemeral');
    assert.equal(await host.page.locator('#open-data-folder').isVisible(), false);
    await host.context.close();
  });

  it('exports the conversation as Markdown or JSON and says where it went', async () => {
    const host = await openHost({ dataDir: DATA_DIR });
    const page = host.page;
    await page.locator('#export-conversation').click();
    await page.locator('#host-result', { hasText: 'Exported 3 messages to /home/host/hearth-conversation.md' }).waitFor();

    await page.locator('#export-format').selectOption('json');
    await host.answer('export_conversation', { path: '/tmp/chat.json', count: 1 });
    await page.locator('#export-conversation').click();
    await page.locator('#host-result', { hasText: 'Exported 1 message to /tmp/chat.json' }).waitFor();
    await screenshot(page, 'host-panel-exported.png');

    // Cancelled in the save dialog: nothing to say.
    await host.answer('export_conversation', null);
    await page.locator('#export-conversation').click();
    await page.waitForFunction(() => /** @type {any} */ (window).__invoked.filter((/** @type {any} */ i) => i.cmd === 'export_conversation').length === 3);
    await page.locator('#export-conversation:not([disabled])').waitFor();
    assert.equal(await page.locator('#host-result').textContent(), '');
    assert.equal(await page.locator('#host-error').textContent(), '');

    await host.answer('export_conversation', { error: 'cannot write /tmp/chat.json: permission denied' });
    await page.locator('#export-conversation').click();
    await page.locator('#host-error', { hasText: 'cannot write /tmp/chat.json: permission denied' }).waitFor();

    const exports = (await host.invoked()).filter((i) => i.cmd === 'export_conversation').map((i) => i.args);
    assert.deepEqual(exports, [{ format: 'markdown' }, { format: 'json' }, { format: 'json' }, { format: 'json' }]);
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('clears the history only once the host confirms', async () => {
    const host = await openHost({ dataDir: DATA_DIR });
    const page = host.page;
    const cleared = async () => (await host.invoked()).filter((i) => i.cmd === 'clear_history').length;

    await page.locator('#clear-history').click();
    await page.locator('#clear-dialog[open]', { hasText: 'Clear the whole conversation for everyone? This cannot be undone.' }).waitFor();
    // The safe choice has focus.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'clear-cancel');
    await screenshot(page, 'clear-confirm.png');
    await page.locator('#clear-cancel').click();
    await page.locator('#clear-dialog').waitFor({ state: 'hidden' });
    assert.equal(await cleared(), 0);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'clear-history');

    // Escape cancels too (the button has focus back: Enter opens it again).
    await page.keyboard.press('Enter');
    await page.locator('#clear-dialog[open]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('#clear-dialog').waitFor({ state: 'hidden' });
    assert.equal(await cleared(), 0);

    await page.locator('#clear-history').click();
    await page.locator('#clear-confirm').click();
    await page.locator('#host-result', { hasText: 'History cleared for everyone' }).waitFor();
    assert.equal(await cleared(), 1);

    await host.answer('clear_history', { error: 'database is locked' });
    await page.locator('#clear-history').click();
    await page.locator('#clear-confirm').click();
    await page.locator('#host-error', { hasText: 'database is locked' }).waitFor();
    assert.equal(await page.locator('#host-result').textContent(), '');
    assert.equal(await cleared(), 2);
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('makes, archives and deletes rooms, deleting only once the host confirms', async () => {
    const host = await openHost({ dataDir: DATA_DIR });
    const page = host.page;
    const calls = async (/** @type {string} */ cmd) => (await host.invoked()).filter((i) => i.cmd === cmd);
    await page.locator('#host-rooms li', { hasText: 'General' }).waitFor();
    assert.equal(await page.locator('#host-rooms li[data-id="1"] button').count(), 0, 'General cannot be archived or deleted');

    await page.locator('#new-room-name').fill('  Track A ');
    const listed = {
      rooms: [
        { id: 1, name: 'General', kind: 'room', archived: false, default: true },
        { id: 2, name: 'Track A', kind: 'room', archived: false },
      ],
      anyone_creates_rooms: false,
    };
    await host.answer('rooms', listed);
    await page.locator('#new-room-create').click();
    await page.locator('#host-rooms li[data-id="2"]', { hasText: 'Track A' }).waitFor();
    assert.deepEqual((await calls('create_room')).map((c) => c.args), [{ name: 'Track A', topic: null }]);
    assert.equal(await page.locator('#new-room-name').inputValue(), '');

    await page.getByRole('button', { name: 'Archive Track A' }).click();
    await page.waitForFunction(() => /** @type {any} */ (window).__invoked.some((/** @type {any} */ i) => i.cmd === 'change_room'));
    assert.deepEqual((await calls('change_room'))[0].args, { id: 2, edit: { archived: true } });

    // A name the room refuses: the reason shows in the section.
    await host.answer('create_room', { error: 'a room with that name exists' });
    await page.locator('#new-room-name').fill('track a');
    await page.locator('#new-room-create').click();
    await page.locator('#host-rooms-error[role="alert"]', { hasText: 'a room with that name exists' }).waitFor();

    // Deleting asks first; Cancel deletes nothing.
    await page.getByRole('button', { name: 'Delete Track A…' }).click();
    await page.locator('#delete-room-dialog[open]', { hasText: 'Delete Track A?' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'delete-room-cancel');
    await expectAccessible(page, 'delete room prompt');
    await page.locator('#delete-room-cancel').click();
    await page.locator('#delete-room-dialog').waitFor({ state: 'hidden' });
    assert.equal((await calls('delete_room')).length, 0);
    await page.getByRole('button', { name: 'Delete Track A…' }).click();
    await page.locator('#delete-room-confirm').click();
    await page.waitForFunction(() => /** @type {any} */ (window).__invoked.some((/** @type {any} */ i) => i.cmd === 'delete_room'));
    assert.deepEqual((await calls('delete_room'))[0].args, { id: 2 });

    await page.locator('#anyone-creates-rooms').check();
    await page.waitForFunction(() => /** @type {any} */ (window).__invoked.some((/** @type {any} */ i) => i.cmd === 'set_anyone_creates_rooms'));
    assert.deepEqual((await calls('set_anyone_creates_rooms'))[0].args, { anyone: true });
    await expectAccessible(page, 'host rooms');
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('search does not open over the confirmation', async () => {
    const host = await openHost({ dataDir: DATA_DIR });
    await host.page.locator('#clear-history').click();
    await host.page.locator('#clear-dialog[open]').waitFor();
    await host.page.keyboard.press('Control+K');
    await host.page.keyboard.press('/');
    assert.equal(await host.page.locator('#search-dialog').isVisible(), false);
    await host.context.close();
  });
});
