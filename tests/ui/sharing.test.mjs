// Sharing the room with the local network, and the people list, in the
// desktop window's host panel (against the harness's stand-in for Tauri's
// bridge); and the room page as another machine sees it over plain http,
// which is not a secure context.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ARTIFACTS, expectAccessible, fakeDesktopBridge, join, openPerson, say, serverAndBrowser } from './harness.mjs';

/** A small, valid SVG (a QR-like pattern), with characters a data: URL must escape. */
const QR_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 25 25" width="200" height="200" shape-rendering="crispEdges">'
  + '<rect width="25" height="25" fill="#ffffff"/>'
  + '<path fill="#000000" d="M2 2h7v7H2zM16 2h7v7h-7zM2 16h7v7H2zM11 11h3v3h-3zM16 16h2v2h-2zM19 19h2v2h-2zM11 2h2v2h-2zM12 18h2v4h-2z"/>'
  + '<path fill="#ffffff" d="M3 3h5v5H3zM17 3h5v5h-5zM3 17h5v5H3z"/>'
  + '<path fill="#000000" d="M4 4h3v3H4zM18 4h3v3h-3zM4 18h3v3H4z"/>'
  + '</svg>';
const LINK = 'http://198.18.0.1:7070/join/3f9a0c1d2e3f405162738495a6b7c8d9';
const NEW_LINK = 'http://198.18.0.1:7070/join/00112233445566778899aabbccddeeff';
const OFF = { on: false, addresses: [], link: null, qr_svg: null, error: null };
const ON = { on: true, addresses: ['http://198.18.0.1:7070'], link: LINK, qr_svg: QR_SVG, error: null };
const ON_NEW = { ...ON, link: NEW_LINK };
const HOST = { id: 9001, name: 'Host', address: null };
// Markup in a name is only text.
const ANN = { id: 9007, name: 'Ann <img src=x>', address: '198.18.0.2' };

/** @param {import('playwright-core').Locator} locator @param {string} file */
async function shoot(locator, file) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await locator.screenshot({ path: path.join(ARTIFACTS, file) });
}

/**
 * Runs axe on the page in light and in dark, and leaves it light.
 * @param {import('playwright-core').Page} page
 * @param {string} state
 */
async function accessibleLightAndDark(page, state) {
  await page.emulateMedia({ colorScheme: 'light' });
  await expectAccessible(page, `${state} (light)`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expectAccessible(page, `${state} (dark)`);
  await page.emulateMedia({ colorScheme: 'light' });
}

describe('sharing with the network', () => {
  const suite = serverAndBrowser();
  /** Contexts a test opened: closed after it, passed or failed, so names are free again. @type {import('playwright-core').BrowserContext[]} */
  const opened = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((context) => context.close().catch(() => {})));
  });

  /**
   * The page as the desktop window shows it, joined as Host.
   * @param {{answers?: Record<string, unknown>, height?: number, init?: () => void}} [options]
   */
  async function openHost(options = {}) {
    const context = await suite.chrome.browser.newContext({ viewport: { width: 1100, height: options.height ?? 900 } });
    opened.push(context);
    await context.addInitScript(fakeDesktopBridge, { url: suite.server.url, dataDir: null, answers: options.answers ?? {} });
    if (options.init) await context.addInitScript(options.init);
    const page = await context.newPage();
    /** @type {string[]} */
    const errors = [];
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console: ${message.text()}`);
    });
    await page.goto(suite.server.url);
    await join(page, 'Host');
    await page.locator('#host-panel:not([hidden])').waitFor();
    await page.locator('#share-section:not([hidden])').waitFor();
    /** @returns {Promise<{cmd: string, args?: any}[]>} */
    const invoked = () => page.evaluate(() => /** @type {any} */ (window).__invoked);
    /** @param {string} cmd */
    const calls = async (cmd) => (await invoked()).filter((i) => i.cmd === cmd);
    /** @param {string} cmd @param {number} count */
    const waitForCalls = (cmd, count) =>
      page.waitForFunction(([cmd, count]) => /** @type {any} */ (window).__invoked.filter((/** @type {any} */ i) => i.cmd === cmd).length >= /** @type {number} */ (count), [cmd, count]);
    /** @param {string} cmd @param {unknown} answer */
    const answer = (cmd, answer) => page.evaluate(([cmd, answer]) => { /** @type {any} */ (window).__answers[/** @type {string} */ (cmd)] = answer; }, [cmd, answer]);
    /** @param {string} name @param {unknown} payload */
    const emit = (name, payload) => page.evaluate(([name, payload]) => /** @type {any} */ (window).__emit(name, payload), [name, payload]);
    const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
    return { context, page, errors, invoked, calls, waitForCalls, answer, emit, focused };
  }

  it('is off at first: a labelled switch, the warning, no link and no code', async () => {
    const host = await openHost();
    const { page } = host;
    const toggle = page.getByRole('switch', { name: 'People on this network can join' });
    assert.equal(await toggle.isChecked(), false);
    assert.equal(await toggle.isEnabled(), true);
    assert.equal(await page.locator('#share-heading').textContent(), 'Share with your network');
    assert.equal(await page.locator('#share-warning').isVisible(), true);
    assert.equal(await page.locator('#share-warning').textContent(),
      'Messages travel unencrypted on your local network. Share only on networks you trust.');
    assert.equal(await toggle.getAttribute('aria-describedby'), 'share-warning');
    assert.equal(await page.locator('#share-on').isVisible(), false);
    assert.equal(await page.locator('#share-link').isVisible(), false);
    assert.equal(await page.locator('#share-qr').isVisible(), false);
    assert.equal(await page.locator('#share-copy').isVisible(), false);
    assert.equal(await page.locator('#share-error').textContent(), '');
    assert.equal((await host.calls('share_status')).length, 1);
    assert.deepEqual(await host.calls('set_sharing'), [], 'nothing turns sharing on by itself');
    await accessibleLightAndDark(page, 'sharing off');
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('turns on: the address, the link, its QR code, Copy link and Stop sharing', async () => {
    const host = await openHost({ height: 1500 });
    const { page } = host;
    await host.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.url });
    const toggle = page.getByRole('switch', { name: 'People on this network can join' });
    const peopleBefore = (await host.calls('people')).length;

    // While the app starts sharing, the switch waits, still off.
    await host.answer('set_sharing', { held: ON });
    await toggle.click();
    await host.waitForCalls('set_sharing', 1);
    await page.locator('#share-toggle:disabled').waitFor();
    assert.equal(await toggle.isChecked(), false, 'the switch shows what is, not what was asked');
    assert.equal(await page.locator('#share-section').getAttribute('aria-busy'), 'true');
    await page.evaluate(() => /** @type {any} */ (window).__release('set_sharing'));

    await page.locator('#share-on').waitFor({ state: 'visible' });
    assert.deepEqual((await host.calls('set_sharing')).map((i) => i.args), [{ on: true }]);
    assert.equal(await toggle.isChecked(), true);
    assert.equal(await toggle.isEnabled(), true);
    assert.equal(await host.focused(), 'share-toggle', 'the focus stays on the switch');
    assert.equal(await page.locator('#share-section').getAttribute('aria-busy'), 'false');
    assert.equal(await page.locator('#share-addresses-label').textContent(), 'Address on the network');
    assert.deepEqual(await page.locator('#share-addresses li').allTextContents(), ['http://198.18.0.1:7070']);
    assert.equal(await page.locator('#share-link').textContent(), LINK);
    assert.equal(await page.locator('#share-warning').isVisible(), true, 'the warning stays while sharing');

    const qr = page.locator('#share-qr');
    assert.equal(await qr.getAttribute('alt'), 'QR code of the invite link');
    assert.equal(await qr.getAttribute('src'), `data:image/svg+xml;charset=utf-8,${encodeURIComponent(QR_SVG)}`);
    await page.waitForFunction(() => {
      const img = /** @type {HTMLImageElement} */ (document.getElementById('share-qr'));
      return img.complete && img.naturalWidth > 0;
    });
    assert.equal(await qr.evaluate((img) => /** @type {HTMLImageElement} */ (img).naturalWidth), 200);
    assert.ok(((await qr.boundingBox())?.width ?? 0) >= 120, 'the code is big enough to scan');
    // Turning on asks for the people list again.
    await host.waitForCalls('people', peopleBefore + 1);

    await page.locator('#share-copy').click();
    await page.locator('#announcer', { hasText: 'Copied the invite link' }).waitFor({ state: 'attached' });
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), LINK);
    assert.equal(await host.focused(), 'share-copy');

    await accessibleLightAndDark(page, 'sharing on');
    const panel = page.locator('#host-panel');
    await panel.evaluate((element) => element.scrollIntoView());
    await shoot(panel, 'share-panel-light.png');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot(panel, 'share-panel-dark.png');
    await page.emulateMedia({ colorScheme: 'light' });

    // Several addresses are all listed.
    await host.emit('share-changed', { ...ON, addresses: ['http://198.18.0.1:7070', 'http://198.19.0.5:7070'] });
    await page.locator('#share-addresses-label', { hasText: 'Addresses on the network' }).waitFor();
    assert.deepEqual(await page.locator('#share-addresses li').allTextContents(), ['http://198.18.0.1:7070', 'http://198.19.0.5:7070']);

    await host.answer('set_sharing', OFF);
    await page.locator('#share-stop').click();
    await page.locator('#share-on').waitFor({ state: 'hidden' });
    assert.deepEqual((await host.calls('set_sharing')).map((i) => i.args), [{ on: true }, { on: false }]);
    assert.equal(await toggle.isChecked(), false);
    assert.equal(await host.focused(), 'share-toggle', 'the focus goes to the switch when its button goes');
    assert.equal(await page.locator('#share-qr').isVisible(), false);
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('says why sharing could not start, and the switch stays off', async () => {
    const host = await openHost();
    const { page } = host;
    const toggle = page.getByRole('switch', { name: 'People on this network can join' });
    await host.answer('set_sharing', { error: 'cannot listen on 198.18.0.1:7070: address in use' });
    await toggle.click();
    const alert = page.locator('#share-error[role="alert"]');
    await alert.filter({ hasText: 'cannot listen on 198.18.0.1:7070: address in use' }).waitFor();
    assert.equal(await alert.textContent(), 'Could not start sharing: cannot listen on 198.18.0.1:7070: address in use');
    assert.equal(await toggle.isChecked(), false);
    assert.equal(await toggle.isEnabled(), true);
    assert.equal(await page.locator('#share-on').isVisible(), false);
    assert.deepEqual((await host.calls('set_sharing')).map((i) => i.args), [{ on: true }]);
    await accessibleLightAndDark(page, 'sharing failed');

    // A status that says why it is off shows the same way.
    await host.answer('set_sharing', { ...OFF, error: 'no network interface is up' });
    await toggle.click();
    await alert.filter({ hasText: 'no network interface is up' }).waitFor();
    assert.equal(await toggle.isChecked(), false);

    // Once it works, the alert goes.
    await host.answer('set_sharing', ON);
    await toggle.click();
    await page.locator('#share-on').waitFor({ state: 'visible' });
    assert.equal(await alert.textContent(), '');
    assert.equal(await toggle.isChecked(), true);
    assert.deepEqual((await host.calls('set_sharing')).map((i) => i.args), [{ on: true }, { on: true }, { on: true }]);

    // Failing to stop leaves it on.
    await host.answer('set_sharing', { error: 'the tray is busy' });
    await toggle.click();
    await alert.filter({ hasText: 'Could not stop sharing: the tray is busy' }).waitFor();
    assert.equal(await toggle.isChecked(), true);
    assert.equal(await page.locator('#share-on').isVisible(), true);
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('New link asks first: a new link, a new link without the network people, or nothing', async () => {
    const host = await openHost({ answers: { share_status: ON, new_invite_link: ON_NEW } });
    const { page } = host;
    await page.locator('#share-link', { hasText: LINK }).waitFor();
    const dialog = page.locator('#new-link-dialog');

    await page.locator('#share-new').click();
    await dialog.and(page.locator('[open]')).waitFor();
    assert.equal(await host.focused(), 'new-link-cancel', 'the safe choice has the focus');
    assert.equal(await page.locator('#new-link-only').textContent(), 'New link');
    assert.equal(await page.locator('#new-link-remove').textContent(), 'New link and remove everyone on the network');
    await accessibleLightAndDark(page, 'the new link question');
    await page.locator('#new-link-cancel').click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await host.focused(), 'share-new');
    // Escape is a cancel too.
    await page.keyboard.press('Enter');
    await dialog.and(page.locator('[open]')).waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.deepEqual(await host.calls('new_invite_link'), [], 'Cancel makes no new link');
    assert.equal(await page.locator('#share-link').textContent(), LINK);

    await page.locator('#share-new').click();
    await page.locator('#new-link-only').click();
    await page.locator('#share-link', { hasText: NEW_LINK }).waitFor();
    await page.locator('#announcer', { hasText: 'New invite link made' }).waitFor({ state: 'attached' });
    assert.equal(await host.focused(), 'share-new');

    await host.answer('new_invite_link', { ...ON, link: LINK });
    await page.locator('#share-new').click();
    await page.locator('#new-link-remove').click();
    await page.locator('#share-link', { hasText: LINK }).waitFor();
    assert.deepEqual((await host.calls('new_invite_link')).map((i) => i.args), [{ removeEveryone: false }, { removeEveryone: true }]);

    await host.answer('new_invite_link', { error: 'could not save the new secret' });
    await page.locator('#share-new').click();
    await page.locator('#new-link-only').click();
    await page.locator('#share-error', { hasText: 'Could not make a new link: could not save the new secret' }).waitFor();
    assert.equal(await page.locator('#share-link').textContent(), LINK, 'the link shown is still the one that works');
    assert.equal((await host.calls('new_invite_link')).length, 3);
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('follows sharing changed elsewhere (the tray)', async () => {
    const host = await openHost();
    const { page } = host;
    const toggle = page.getByRole('switch', { name: 'People on this network can join' });
    await host.waitForCalls('people', 1);
    const peopleBefore = (await host.calls('people')).length;

    await host.emit('share-changed', ON);
    await page.locator('#share-on').waitFor({ state: 'visible' });
    assert.equal(await toggle.isChecked(), true);
    assert.equal(await page.locator('#share-link').textContent(), LINK);
    await page.waitForFunction(() => {
      const img = /** @type {HTMLImageElement} */ (document.getElementById('share-qr'));
      return img.complete && img.naturalWidth > 0;
    });
    await host.waitForCalls('people', peopleBefore + 1);

    await host.emit('share-changed', { ...OFF, error: 'the network went away' });
    await page.locator('#share-on').waitFor({ state: 'hidden' });
    assert.equal(await toggle.isChecked(), false);
    assert.equal(await page.locator('#share-error').textContent(), 'Could not start sharing: the network went away');
    assert.deepEqual(await host.calls('set_sharing'), [], 'the page only shows what happened');
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('lists the people in the room and removes one from the network after asking', async () => {
    const host = await openHost({ answers: { people: [HOST, ANN] } });
    const { page } = host;
    const rows = page.locator('#host-people > li');
    await rows.nth(1).waitFor();
    assert.equal(await page.locator('#host-people-heading').textContent(), 'People in the room');
    assert.deepEqual(await rows.locator('.host-person-name').allTextContents(), ['Host', 'Ann <img src=x>']);
    assert.deepEqual(await rows.locator('.host-person-where').allTextContents(), ['this computer', 'from 198.18.0.2']);
    assert.equal(await page.locator('#host-people img').count(), 0, 'a name is text, not markup');
    assert.equal(await rows.nth(0).getByRole('button').count(), 0, 'nobody removes this computer');
    const remove = page.getByRole('button', { name: 'Remove Ann <img src=x>', exact: true });
    assert.equal(await remove.textContent(), 'Remove');
    await accessibleLightAndDark(page, 'the people list');

    const dialog = page.locator('#remove-dialog');
    await remove.click();
    await dialog.and(page.locator('[open]')).waitFor();
    assert.equal(await page.locator('#remove-text').textContent(),
      'Remove Ann <img src=x> from the room? They cannot come back with their current invite.');
    assert.equal(await host.focused(), 'remove-cancel');
    await accessibleLightAndDark(page, 'the remove question');
    await page.locator('#remove-cancel').click();
    await dialog.waitFor({ state: 'hidden' });
    assert.deepEqual(await host.calls('remove_person'), [], 'Cancel removes nobody');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Remove Ann <img src=x>');

    // The app says no: the row stays, and the panel says why.
    await host.answer('remove_person', { error: 'no such person' });
    await remove.click();
    await page.locator('#remove-confirm').click();
    await page.locator('#host-people-error[role="alert"]', { hasText: 'Could not remove Ann <img src=x>: no such person' }).waitFor();
    assert.equal(await rows.count(), 2);

    await host.answer('remove_person', null);
    await host.answer('people', [HOST]);
    const peopleBefore = (await host.calls('people')).length;
    await remove.click();
    await page.locator('#remove-confirm').click();
    await rows.nth(1).waitFor({ state: 'detached' });
    assert.deepEqual((await host.calls('remove_person')).map((i) => i.args), [{ id: 9007 }, { id: 9007 }]);
    assert.ok((await host.calls('people')).length > peopleBefore, 'the list is asked for again');
    await page.locator('#announcer', { hasText: 'Removed Ann <img src=x>' }).waitFor({ state: 'attached' });
    assert.equal(await host.focused(), 'host-people-heading', 'the focus stays in the list');
    assert.equal(await page.locator('#host-people-error').textContent(), '');
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('asks for the list again when someone joins or leaves, at most every 250 ms', async () => {
    const host = await openHost({ answers: { people: [HOST] } });
    const { page } = host;
    await page.locator('#host-people > li', { hasText: 'Host' }).waitFor();
    // Times of the page's `people` calls from here on.
    await page.evaluate(() => {
      /** @type {any} */ const w = window;
      w.__peopleAt = [];
      const invoke = w.__TAURI__.core.invoke;
      w.__TAURI__.core.invoke = (/** @type {string} */ cmd, /** @type {any} */ args) => {
        if (cmd === 'people') w.__peopleAt.push(performance.now());
        return invoke(cmd, args);
      };
    });
    const peopleAt = () => page.evaluate(() => /** @type {number[]} */ (/** @type {any} */ (window).__peopleAt));

    // The host's own row says so.
    const myId = await page.evaluate(async () => (await import('./room/identity.js')).currentUser()?.id);
    assert.equal(typeof myId, 'number');
    await host.answer('people', [{ id: myId, name: 'Host', address: null }, { id: 42, name: 'Bob', address: null }]);
    const bob = await openPerson(suite.chrome.browser, suite.server.url, 'Bob');
    opened.push(bob.context);
    await page.locator('#host-people > li', { hasText: 'Bob' }).waitFor();
    assert.ok((await peopleAt()).length >= 1);
    assert.deepEqual(await page.locator('#host-people .host-person-name').allTextContents(), ['Host (you)', 'Bob']);

    await host.answer('people', [HOST]);
    await bob.context.close();
    await page.locator('#host-people > li', { hasText: 'Bob' }).waitFor({ state: 'detached' });

    // A burst of changes costs one call, and the next one waits its turn.
    const before = (await peopleAt()).length;
    await page.evaluate(() => {
      for (let i = 0; i < 20; i += 1) /** @type {any} */ (window).__emit('room-stats', { connections: 1, people: 1 });
    });
    await page.waitForFunction((n) => /** @type {any} */ (window).__peopleAt.length >= n, before + 1);
    await page.evaluate(() => {
      for (let i = 0; i < 20; i += 1) /** @type {any} */ (window).__emit('room-stats', { connections: 1, people: 1 });
    });
    await page.waitForFunction((n) => /** @type {any} */ (window).__peopleAt.length >= n, before + 2);
    const times = await peopleAt();
    assert.equal(times.length, before + 2, `two bursts, two calls: ${JSON.stringify(times)}`);
    for (let i = 1; i < times.length; i += 1) {
      assert.ok(times[i] - times[i - 1] >= 245, `calls ${Math.round(times[i] - times[i - 1])} ms apart`);
    }
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });

  it('a page that is not a secure context hides what needs one, and chats', async () => {
    /** @type {string[]} */
    const errors = [];
    const remote = await openPerson(suite.chrome.browser, suite.server.url, null, {
      beforeGoto: async (page) => {
        page.on('console', (message) => {
          if (message.type() === 'error') errors.push(`console: ${message.text()}`);
        });
        await page.addInitScript(() => {
          Object.defineProperty(window, 'isSecureContext', { value: false });
          Object.defineProperty(navigator, 'clipboard', { value: undefined });
          delete (/** @type {any} */ (window)).Notification;
        });
      },
    });
    opened.push(remote.context);
    assert.equal(await remote.page.evaluate(() => window.isSecureContext), false);
    await join(remote.page, 'Remote');
    const local = await openPerson(suite.chrome.browser, suite.server.url, 'Local');
    opened.push(local.context);
    // The same page in a secure context does offer notifications.
    await local.page.locator('#notify-button').waitFor({ state: 'visible' });
    assert.equal(await remote.page.locator('#notify-button').isVisible(), false);

    await say(remote.page, 'hello from the network');
    await local.page.locator('.msg', { hasText: 'hello from the network' }).waitFor();
    await say(local.page, 'hello from this computer');
    await remote.page.locator('.msg', { hasText: 'hello from this computer' }).waitFor();
    await remote.page.locator('.msg', { hasText: 'hello from the network' }).waitFor();
    assert.equal(await remote.page.locator('#notify-button').isVisible(), false);
    assert.deepEqual(remote.errors, []);
    assert.deepEqual(errors, []);

    // Even where Notification exists, an insecure page does not offer it.
    const other = await openPerson(suite.chrome.browser, suite.server.url, 'Other', {
      beforeGoto: (page) => page.addInitScript(() => {
        Object.defineProperty(window, 'isSecureContext', { value: false });
        Object.defineProperty(navigator, 'clipboard', { value: undefined });
      }),
    });
    opened.push(other.context);
    await other.page.locator('.msg', { hasText: 'hello from this computer' }).waitFor();
    assert.equal(await other.page.evaluate(() => 'Notification' in window && Notification.permission), 'default');
    assert.equal(await other.page.locator('#notify-button').isVisible(), false);
    assert.deepEqual(other.errors, []);
    await Promise.all([remote.context.close(), local.context.close(), other.context.close()]);
  });

  it('copies without navigator.clipboard', async () => {
    const host = await openHost({
      answers: { share_status: ON },
      init: () => {
        Object.defineProperty(window, 'isSecureContext', { value: false });
        Object.defineProperty(navigator, 'clipboard', { value: undefined });
        /** @type {any} */ const w = window;
        w.__copied = [];
        document.addEventListener('copy', (event) => {
          const target = /** @type {HTMLTextAreaElement} */ (event.target);
          w.__copied.push(target.value?.slice(target.selectionStart, target.selectionEnd) ?? String(document.getSelection()));
        });
      },
    });
    const { page } = host;
    await page.locator('#share-link', { hasText: LINK }).waitFor();
    await page.locator('#share-copy').click();
    await page.locator('#announcer', { hasText: 'Copied the invite link' }).waitFor({ state: 'attached' });
    assert.deepEqual(await page.evaluate(() => /** @type {any} */ (window).__copied), [LINK]);
    assert.equal(await host.focused(), 'share-copy', 'the focus stays on the button');
    assert.equal(await page.locator('textarea.copy-buffer').count(), 0);
    await page.locator('#copy-address').click();
    await page.locator('#announcer', { hasText: 'Address copied' }).waitFor({ state: 'attached' });
    assert.deepEqual(await page.evaluate(() => /** @type {any} */ (window).__copied), [LINK, suite.server.url]);
    assert.deepEqual(host.errors, []);
    await host.context.close();
  });
});
