// A conversation people expect: replies, reactions, edits and deletions,
// pictures and files, formatting, a stable identity and the unread marker,
// between real pages on a real server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DISGUISED, png } from './files.mjs';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, ROOT, expectAccessible, fakeDesktopBridge, join, openPerson, say, screenshot, serverAndBrowser, startServer } from './harness.mjs';

/**
 * The message whose text contains `text` (the last such), on `page`.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
function message(page, text) {
  return page.locator('#messages .msg', { has: page.locator('.text', { hasText: text }) }).last();
}

/**
 * Uses one of a message's actions with the mouse, as a person would: the
 * toolbar shows on hover.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 * @param {'reply' | 'react' | 'edit' | 'delete'} action
 */
async function act(page, text, action) {
  const item = message(page, text);
  await item.hover();
  await item.locator(`[data-action="${action}"]`).click();
  return item;
}

/**
 * What the page shows of message `text`: its quote, reactions (emoji, count,
 * pressed), whether it was edited or deleted, and which actions it offers.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
function shown(page, text) {
  return message(page, text).evaluate(describeItem);
}

/** @param {Element} item */
function describeItem(item) {
  return {
    text: item.querySelector('.text')?.textContent ?? null,
    quote: item.querySelector('.quote') ? `${item.querySelector('.quote-who')?.textContent}: ${item.querySelector('.quote-text')?.textContent}` : null,
    reactions: [...item.querySelectorAll('button.chip')].map((chip) => [
      chip.querySelector('.chip-emoji')?.textContent,
      Number(chip.querySelector('.chip-count')?.textContent),
      chip.getAttribute('aria-pressed') === 'true',
    ]),
    edited: item.querySelector('.text')?.classList.contains('is-edited') ?? false,
    deleted: item.classList.contains('deleted'),
    mine: item.classList.contains('mine'),
    actions: [...item.querySelectorAll('[data-action]')].map((button) => /** @type {HTMLElement} */ (button).dataset.action),
  };
}

/**
 * Chooses `emoji` in the palette of message `text` (a palette button, or the field).
 * @param {import('playwright-core').Page} page
 * @param {string} text
 * @param {string} emoji
 */
async function react(page, text, emoji) {
  await act(page, text, 'react');
  const palette = page.locator('#reaction-palette:not([hidden])');
  await palette.waitFor();
  const button = palette.locator(`button.palette-emoji[data-emoji="${emoji}"]`);
  if (await button.count()) {
    await button.click();
  } else {
    await palette.locator('#reaction-input').fill(emoji);
    await palette.locator('#reaction-input').press('Enter');
  }
}

/**
 * Pastes files into the message box, as Ctrl+V with a copied picture does.
 * @param {import('playwright-core').Page} page
 * @param {{name: string, type: string, bytes: Buffer}[]} files
 */
async function paste(page, files) {
  await page.evaluate((files) => {
    const data = new DataTransfer();
    for (const file of files) data.items.add(new File([new Uint8Array(file.bytes)], file.name, { type: file.type }));
    const input = /** @type {HTMLTextAreaElement} */ (document.getElementById('composer-input'));
    input.focus();
    input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, files.map((file) => ({ name: file.name, type: file.type, bytes: [...file.bytes] })));
}

/**
 * Waits until every attachment in the composer is uploaded.
 * @param {import('playwright-core').Page} page
 * @param {number} count
 */
async function uploaded(page, count) {
  await page.waitForFunction((n) => document.querySelectorAll('#attachments .attachment.done').length === n
    && document.querySelectorAll('#attachments .attachment').length === n, count);
}

describe('a conversation people expect', () => {
  const suite = serverAndBrowser();

  it('two people reply, react, edit and delete, and each sees the other\'s changes live and after a reload', async () => {
    const ann = await openPerson(suite.chrome.browser, suite.server.url, 'Ann');
    const bob = await openPerson(suite.chrome.browser, suite.server.url, 'Bob');
    await say(ann.page, 'Shall we meet at the café at noon?');
    await say(ann.page, 'oops, wrong room');
    await message(bob.page, 'wrong room').waitFor();

    // Bob replies: the composer says to what, and the reply quotes it for both.
    await act(bob.page, 'Shall we meet', 'reply');
    await bob.page.locator('#reply-bar:not([hidden])', { hasText: 'Replying to Ann: Shall we meet at the café at noon?' }).waitFor();
    assert.equal(await bob.page.evaluate(() => document.activeElement?.id), 'composer-input');
    await say(bob.page, 'Yes, see you there');
    await message(ann.page, 'see you there').waitFor();
    for (const page of [ann.page, bob.page]) {
      assert.equal((await shown(page, 'see you there')).quote, 'Ann: Shall we meet at the café at noon?');
      assert.equal(await message(page, 'see you there').locator('.quote').getAttribute('title'), 'Show the message this replies to');
    }
    assert.equal(await bob.page.locator('#reply-bar').isVisible(), false);
    await act(bob.page, 'wrong room', 'reply');
    await say(bob.page, 'which room then?');
    await message(ann.page, 'which room then?').waitFor();

    // Only my own messages offer Edit and Delete.
    assert.deepEqual((await shown(bob.page, 'Shall we meet')).actions, ['reply', 'react']);
    assert.deepEqual((await shown(ann.page, 'Shall we meet')).actions, ['reply', 'react', 'edit', 'delete']);

    // Reactions: from the palette, from the field, and by clicking a chip.
    await react(ann.page, 'see you there', '👍');
    await bob.page.locator('button.chip', { hasText: '👍' }).waitFor();
    assert.deepEqual((await shown(bob.page, 'see you there')).reactions, [['👍', 1, false]]);
    assert.deepEqual((await shown(ann.page, 'see you there')).reactions, [['👍', 1, true]]);
    await message(bob.page, 'see you there').locator('button.chip', { hasText: '👍' }).click();
    await ann.page.locator('button.chip .chip-count', { hasText: '2' }).waitFor();
    await react(bob.page, 'see you there', '🚀');
    await ann.page.locator('button.chip', { hasText: '🚀' }).waitFor();
    assert.deepEqual((await shown(ann.page, 'see you there')).reactions, [['👍', 2, true], ['🚀', 1, false]]);
    // Who reacted shows on hover (title) and on focus (a tooltip that describes the chip).
    const chip = message(ann.page, 'see you there').locator('button.chip', { hasText: '👍' });
    assert.equal(await chip.getAttribute('title'), 'you and Bob reacted with 👍');
    await chip.focus();
    await ann.page.keyboard.press('Shift+Tab');
    await ann.page.keyboard.press('Tab');
    const tip = ann.page.locator(`#${await chip.getAttribute('aria-describedby')}`);
    assert.equal(await tip.textContent(), 'you and Bob');
    assert.equal(await tip.isVisible(), true);
    // Taking mine back.
    await chip.click();
    await bob.page.locator('button.chip[data-emoji="👍"] .chip-count', { hasText: '1' }).waitFor();
    assert.deepEqual((await shown(bob.page, 'see you there')).reactions, [['👍', 1, true], ['🚀', 1, true]]);
    assert.deepEqual((await shown(ann.page, 'see you there')).reactions, [['👍', 1, false], ['🚀', 1, false]]);
    // A field entry that is not one emoji is refused on the spot.
    await act(bob.page, 'Shall we meet', 'react');
    await bob.page.locator('#reaction-input').fill('ok');
    await bob.page.locator('#reaction-input').press('Enter');
    await bob.page.locator('#reaction-error', { hasText: 'one emoji' }).waitFor();
    await bob.page.keyboard.press('Escape');
    await bob.page.locator('#reaction-palette').waitFor({ state: 'hidden' });

    // Ann edits her message: Escape cancels, Enter saves; Bob's quote of it follows.
    await act(ann.page, 'Shall we meet', 'edit');
    await ann.page.locator('.editor-input').fill('never mind');
    await ann.page.locator('.editor-input').press('Escape');
    assert.equal((await shown(ann.page, 'Shall we meet')).text, 'Shall we meet at the café at noon?');
    await act(ann.page, 'Shall we meet', 'edit');
    assert.equal(await ann.page.locator('.editor-input').inputValue(), 'Shall we meet at the café at noon?');
    await ann.page.locator('.editor-input').fill('Shall we meet at the library at noon?');
    await ann.page.locator('.editor-input').press('Enter');
    await message(bob.page, 'library').waitFor();
    assert.equal((await shown(bob.page, 'library')).edited, true);
    await bob.page.locator('.quote', { hasText: 'Shall we meet at the library at noon?' }).waitFor();
    // ArrowUp in an empty message box edits my last message.
    await ann.page.locator('#composer-input').focus();
    await ann.page.keyboard.press('ArrowUp');
    assert.equal(await ann.page.locator('.editor-input').inputValue(), 'oops, wrong room');
    await ann.page.keyboard.press('Escape');

    // Ann deletes her other message, after confirming; Bob's reply to it says so.
    await act(ann.page, 'wrong room', 'delete');
    await ann.page.locator('#delete-dialog[open]').waitFor();
    assert.equal(await ann.page.evaluate(() => document.activeElement?.id), 'delete-cancel');
    await ann.page.locator('#delete-confirm').click();
    await bob.page.locator('.msg.deleted .text', { hasText: 'Message deleted' }).waitFor();
    await bob.page.locator('.quote', { hasText: 'message deleted' }).waitFor();
    assert.equal(await bob.page.locator('#messages', { hasText: 'wrong room' }).count(), 0);

    // The quote leads to the original.
    await message(bob.page, 'see you there').locator('.quote').click();
    await bob.page.locator('#messages .msg.found', { hasText: 'library' }).waitFor();

    // After a reload, both see the same, and Ann's messages are still hers.
    /** @param {import('playwright-core').Page} page */
    const state = (page) => page.locator('#messages .msg').evaluateAll((items) => items.map((item) => ({
      text: item.querySelector('.text')?.textContent,
      quote: item.querySelector('.quote-text')?.textContent ?? null,
      reactions: [...item.querySelectorAll('button.chip')].map((c) => `${c.textContent}${c.getAttribute('aria-pressed') === 'true' ? '*' : ''}`),
      edited: !!item.querySelector('.text.is-edited'),
      deleted: item.classList.contains('deleted'),
      mine: item.classList.contains('mine'),
    })));
    const before = { ann: await state(ann.page), bob: await state(bob.page) };
    assert.deepEqual(before.ann.map((m) => m.mine), [true, true, false, false]);
    for (const person of [ann, bob]) {
      await person.page.reload();
      await person.page.locator('#status[data-state="connected"]').waitFor();
      await person.page.locator('#messages .msg', { hasText: 'which room' }).waitFor();
    }
    assert.deepEqual(await state(ann.page), before.ann);
    assert.deepEqual(await state(bob.page), before.bob);
    // Both see the same conversation (who pressed a reaction aside).
    const same = (/** @type {typeof before.ann} */ list) => list.map(({ mine, reactions, ...rest }) => ({ ...rest, reactions: reactions.map((r) => r.replace('*', '')) }));
    assert.deepEqual(same(before.bob), same(before.ann));
    assert.deepEqual(ann.errors, []);
    assert.deepEqual(bob.errors, []);
    await ann.context.close();
    await bob.context.close();
  });

  it('my messages are mine by my browser\'s secret, not by my name', async () => {
    const room = await startServer();
    try {
      const ann = await openPerson(suite.chrome.browser, room.url, 'Ann');
      await say(ann.page, 'only I may change this');
      await message(ann.page, 'only I may').waitFor();
      assert.deepEqual((await shown(ann.page, 'only I may')).actions, ['reply', 'react', 'edit', 'delete']);
      const key = await ann.page.evaluate(() => localStorage.getItem('hearth.key'));
      assert.match(key ?? '', /^[A-Za-z0-9_-]{43}$/);
      await ann.context.close();
      // Someone else takes the name Ann: the message is not theirs.
      const impostor = await openPerson(suite.chrome.browser, room.url, 'Ann');
      await message(impostor.page, 'only I may').waitFor();
      assert.deepEqual(await shown(impostor.page, 'only I may'), {
        text: 'only I may change this', quote: null, reactions: [], edited: false, deleted: false, mine: false, actions: ['reply', 'react'],
      });
      assert.equal(await impostor.page.locator('#composer-input').evaluate(() => localStorage.getItem('hearth.key') !== null), true);
      await impostor.page.locator('#composer-input').focus();
      await impostor.page.keyboard.press('ArrowUp');
      assert.equal(await impostor.page.locator('.editor-input').count(), 0);
      await impostor.context.close();
    } finally {
      await room.stop();
    }
  });

  it('messages and the toolbar work from the keyboard alone', async () => {
    const room = await startServer();
    try {
      const cy = await openPerson(suite.chrome.browser, room.url, 'Cy');
      await say(cy.page, 'first line');
      await say(cy.page, 'second line');
      await message(cy.page, 'second line').waitFor();
      await cy.page.locator('#log').focus();
      // Arrows move between messages; a message with focus shows its actions, and Tab reaches them.
      await cy.page.keyboard.press('ArrowUp');
      assert.equal(await cy.page.evaluate(() => document.activeElement?.textContent?.includes('second line')), true);
      await cy.page.keyboard.press('ArrowUp');
      assert.equal(await cy.page.evaluate(() => document.activeElement?.querySelector('.text')?.textContent), 'first line');
      assert.equal(await message(cy.page, 'first line').locator('.actions').isVisible(), true);
      await cy.page.keyboard.press('Tab');
      assert.equal(await cy.page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.action), 'reply');
      await cy.page.keyboard.press('Enter');
      await cy.page.locator('#reply-bar', { hasText: 'first line' }).waitFor();
      await cy.page.keyboard.press('Escape');
      assert.equal(await cy.page.locator('#reply-bar').isVisible(), false);
      // The palette from the keyboard: arrows move, Enter picks.
      await cy.page.locator('#log').focus();
      await cy.page.keyboard.press('ArrowUp');
      await cy.page.keyboard.press('Tab');
      await cy.page.keyboard.press('Tab');
      assert.equal(await cy.page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.action), 'react');
      await cy.page.keyboard.press('Enter');
      await cy.page.locator('#reaction-palette:not([hidden])').waitFor();
      await cy.page.keyboard.press('ArrowRight');
      await cy.page.keyboard.press('Enter');
      await message(cy.page, 'second line').locator('button.chip', { hasText: '❤️' }).waitFor();
      // Escape on a message goes back to the message box.
      await message(cy.page, 'second line').focus();
      await cy.page.keyboard.press('Escape');
      assert.equal(await cy.page.evaluate(() => document.activeElement?.id), 'composer-input');
      assert.deepEqual(cy.errors, []);
      await cy.context.close();
    } finally {
      await room.stop();
    }
  });

  it('a pasted picture shows inline for both, full size on click; another file is a download', async () => {
    const ann = await openPerson(suite.chrome.browser, suite.server.url, 'Pia');
    const bob = await openPerson(suite.chrome.browser, suite.server.url, 'Quinn');
    const picture = png(96, 64);
    await ann.page.locator('#composer-input').fill('the view from here');
    await paste(ann.page, [{ name: 'sunset.png', type: 'image/png', bytes: picture }]);
    await uploaded(ann.page, 1);
    await ann.page.locator('#composer-input').press('Enter');
    for (const page of [ann.page, bob.page]) {
      const image = message(page, 'the view from here').locator('a.picture img');
      await image.waitFor();
      assert.equal(await image.getAttribute('alt'), 'sunset.png');
      await page.waitForFunction(() => {
        const img = /** @type {HTMLImageElement | null} */ (document.querySelector('#messages a.picture img'));
        return !!img && img.complete && img.naturalWidth === 96;
      });
    }
    assert.equal(await ann.page.locator('#attachments .attachment').count(), 0);
    // A click shows it full size; Escape closes it.
    await message(bob.page, 'the view from here').locator('a.picture').click();
    await bob.page.locator('#image-dialog[open]', { hasText: 'sunset.png' }).waitFor();
    assert.equal(await bob.page.locator('#image-full').evaluate((img) => /** @type {HTMLImageElement} */ (img).naturalWidth), 96);
    await bob.page.keyboard.press('Escape');
    await bob.page.locator('#image-dialog').waitFor({ state: 'hidden' });

    // The attach button takes any file; with no text, the message is the file.
    await ann.page.locator('#attach-input').setInputFiles([{ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('remember the milk\n'.repeat(100)) }]);
    await uploaded(ann.page, 1);
    await ann.page.locator('#attachments', { hasText: 'notes.txt' }).waitFor();
    await ann.page.locator('#send-button').click();
    const link = bob.page.locator('#messages a.download', { hasText: 'notes.txt' });
    await link.waitFor();
    assert.equal(await link.getAttribute('download'), 'notes.txt');
    assert.match(await link.textContent() ?? '', /notes\.txt1\.8 KiB$/);
    // Several at once go one after another (the room takes one file at a
    // time from each person) and leave in one message.
    await ann.page.locator('#attach-input').setInputFiles(['a', 'b', 'c'].map((n) => ({ name: `${n}.txt`, mimeType: 'text/plain', buffer: Buffer.alloc(20000, n) })));
    await uploaded(ann.page, 3);
    await ann.page.locator('#send-button').click();
    await bob.page.waitForFunction(() => [...document.querySelectorAll('#messages a.download')].filter((a) => /[abc]\.txt/.test(a.textContent ?? '')).length === 3);
    assert.equal(await ann.page.locator('#composer-error').textContent(), '');
    // Removing an attachment before sending.
    await ann.page.locator('#attach-input').setInputFiles([{ name: 'draft.txt', mimeType: 'text/plain', buffer: Buffer.from('x') }]);
    await uploaded(ann.page, 1);
    await ann.page.locator('#attachments button.remove-attachment').click();
    assert.equal(await ann.page.locator('#attachments .attachment').count(), 0);
    assert.equal(await ann.page.evaluate(() => document.activeElement?.id), 'composer-input');

    // Dropped on the conversation.
    await ann.page.evaluate((bytes) => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' }));
      const log = /** @type {HTMLElement} */ (document.getElementById('log'));
      for (const type of ['dragenter', 'dragover', 'drop']) log.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }, [...png(8, 8)]);
    await uploaded(ann.page, 1);
    await ann.page.locator('#attachments', { hasText: 'dropped.png' }).waitFor();
    assert.equal(await ann.page.locator('#chat.dropping').count(), 0);
    await ann.page.locator('#attachments button.remove-attachment').click();

    // Sent while a file is still uploading: it goes once the file is up.
    /** @type {() => void} */
    let release = () => {};
    const held = new Promise((resolve) => { release = () => resolve(undefined); });
    await ann.page.route('**/files', async (route) => {
      await held;
      await route.continue().catch(() => {});
    });
    await ann.page.locator('#attach-input').setInputFiles([{ name: 'slow.txt', mimeType: 'text/plain', buffer: Buffer.alloc(50000, 65) }]);
    await ann.page.locator('#attachments .attachment.uploading progress').waitFor();
    await ann.page.locator('#composer-input').fill('sent once the file is up');
    await ann.page.locator('#composer-input').press('Enter');
    await ann.page.locator('#composer-waiting', { hasText: 'Sending once the files are uploaded' }).waitFor();
    assert.equal(await message(bob.page, 'sent once the file is up').count(), 0);
    release();
    await message(bob.page, 'sent once the file is up').locator('a.download', { hasText: 'slow.txt' }).waitFor();
    assert.equal(await ann.page.locator('#composer-input').inputValue(), '');
    assert.equal(await ann.page.locator('#composer-waiting').textContent(), '');

    // Cancelled while uploading: gone, and nothing is sent.
    /** @type {() => void} */
    let release2 = () => {};
    const held2 = new Promise((resolve) => { release2 = () => resolve(undefined); });
    await ann.page.unroute('**/files');
    await ann.page.route('**/files', async (route) => {
      await held2;
      await route.continue().catch(() => {});
    });
    await ann.page.locator('#attach-input').setInputFiles([{ name: 'never.txt', mimeType: 'text/plain', buffer: Buffer.alloc(50000, 66) }]);
    await ann.page.locator('#attachments button.remove-attachment[aria-label="Cancel uploading never.txt"]').click();
    assert.equal(await ann.page.locator('#attachments .attachment').count(), 0);
    release2();
    await ann.page.unroute('**/files');
    assert.deepEqual(ann.errors, []);
    assert.deepEqual(bob.errors, []);
    await ann.context.close();
    await bob.context.close();
  });

  it('a disguised upload (HTML named .png, SVG with a script, a PNG+HTML polyglot) never runs anything', async () => {
    const mallory = await openPerson(suite.chrome.browser, suite.server.url, 'Mallory');
    const victim = await openPerson(suite.chrome.browser, suite.server.url, 'Victim');
    /** @type {string[]} */
    const console = [];
    victim.page.on('console', (entry) => { if (entry.type() !== 'error') console.push(entry.text()); });
    await mallory.page.locator('#composer-input').fill('look at these');
    await mallory.page.locator('#attach-input').setInputFiles(DISGUISED);
    await uploaded(mallory.page, DISGUISED.length);
    await mallory.page.locator('#composer-input').press('Enter');
    const item = message(victim.page, 'look at these');
    await item.locator('.files li').nth(2).waitFor();
    // What is not a picture by its bytes is a download, whatever its name or claimed type.
    const files = await item.locator('.files li').evaluateAll((items) => items.map((li) => ({
      kind: li.querySelector('a.picture') ? 'picture' : li.querySelector('a.download') ? 'download' : 'other',
      name: li.querySelector('.download-name')?.textContent ?? li.querySelector('img')?.getAttribute('alt'),
      href: /** @type {HTMLAnchorElement | null} */ (li.querySelector('a'))?.href ?? '',
    })));
    assert.deepEqual(files.map(({ kind, name }) => [kind, name]), [['download', 'holiday.png'], ['download', 'logo.svg'], ['picture', 'polyglot.png']]);
    // Served so that no browser renders them as a page.
    for (const file of files) {
      const response = await fetch(file.href);
      const type = response.headers.get('content-type') ?? '';
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', file.name);
      assert.ok(!/html|svg|xml|javascript/i.test(type), `${file.name} served as ${type}`);
      assert.match(response.headers.get('content-security-policy') ?? '', /sandbox/, file.name);
      if (file.kind === 'download') assert.match(response.headers.get('content-disposition') ?? '', /^attachment/, file.name);
    }
    // Opening each in a tab of its own runs nothing either.
    const tab = await victim.context.newPage();
    tab.on('dialog', (dialog) => { victim.errors.push(new Error(`dialog in a file: ${dialog.message()}`)); dialog.dismiss(); });
    for (const file of files) {
      await tab.goto(file.href).catch(() => {}); // a download aborts the navigation
      await tab.waitForTimeout(200);
      assert.equal(await tab.evaluate(() => /** @type {any} */ (window).__pwned).catch(() => undefined), undefined, file.name);
    }
    // And the lightbox for the polyglot shows a picture, nothing else.
    await item.locator('a.picture').click();
    await victim.page.locator('#image-dialog[open]').waitFor();
    await victim.page.keyboard.press('Escape');
    assert.equal(await victim.page.evaluate(() => /** @type {any} */ (window).__pwned), undefined);
    assert.equal(await victim.page.locator('#messages script, #messages iframe, #messages object, #messages svg script').count(), 0);
    assert.deepEqual(victim.errors, []);
    assert.deepEqual(mallory.errors, []);
    assert.deepEqual(console, []);
    await tab.close();
    await mallory.context.close();
    await victim.context.close();
  });

  it('an upload over the limit is refused with a clear message, and the text is kept', async () => {
    const small = await startServer({ args: ['--max-upload-bytes', '1024'] });
    try {
      const gil = await openPerson(suite.chrome.browser, small.url, 'Gil');
      /** @type {string[]} */
      const posts = [];
      gil.page.on('request', (request) => { if (request.method() === 'POST') posts.push(request.url()); });
      await gil.page.locator('#composer-input').fill('here is the report');
      await gil.page.locator('#attach-input').setInputFiles([{ name: 'report.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(2048, 1) }]);
      // Refused before anything is sent, saying the limit the room announced.
      await gil.page.locator('#composer-error', { hasText: 'report.pdf is too big (max 1 KiB).' }).waitFor();
      assert.deepEqual(posts, []);
      assert.equal(await gil.page.locator('#attachments .attachment').count(), 0);
      assert.equal(await gil.page.locator('#composer-input').inputValue(), 'here is the report');

      // The room refuses it too, should a page not check: its word is shown, the text kept.
      await gil.page.evaluate(async () => (await import('/composer/uploads.js')).setLimits(1024 * 1024, 10));
      await gil.page.locator('#attach-input').setInputFiles([{ name: 'report.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(4096, 1) }]);
      await gil.page.locator('#composer-error', { hasText: 'report.pdf is too big (max' }).waitFor();
      assert.equal(posts.length, 1);
      assert.equal(await gil.page.locator('#attachments .attachment').count(), 0);
      assert.equal(await gil.page.locator('#composer-input').inputValue(), 'here is the report');
      // A message waiting for an upload that fails is not sent.
      assert.equal(await gil.page.locator('#messages .msg').count(), 0);
      assert.deepEqual(gil.errors, []);
      await gil.context.close();
    } finally {
      await small.stop();
    }
  });

  it('formatting renders as elements, and markup in code, quotes and file names stays text', async () => {
    const room = await startServer();
    try {
      const ann = await openPerson(suite.chrome.browser, room.url, 'Ann');
      const bob = await openPerson(suite.chrome.browser, room.url, 'Bob');
      const payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
      await say(ann.page, 'This is **bold**, _italic_ and `inline <b>code</b>`; snake_case_stays and 2 * 3 * 4 too');
      await say(ann.page, `Code:\n\`\`\`\n${payload}\nconst wide = "${'x'.repeat(300)}";\n\`\`\`\nafter`);
      await say(ann.page, '🎉');
      await say(ann.page, `quote me ${payload}`);
      await message(bob.page, 'quote me').waitFor();
      const formatted = await message(bob.page, 'This is').evaluate((item) => {
        const text = /** @type {HTMLElement} */ (item.querySelector('.text'));
        return {
          bold: text.querySelector('strong')?.textContent,
          italic: text.querySelector('em')?.textContent,
          code: text.querySelector('code')?.textContent,
          elements: [...text.querySelectorAll('*')].map((node) => node.tagName.toLowerCase()),
          text: text.textContent,
        };
      });
      assert.deepEqual(formatted, {
        bold: 'bold', italic: 'italic', code: 'inline <b>code</b>', elements: ['strong', 'em', 'code'],
        text: 'This is bold, italic and inline <b>code</b>; snake_case_stays and 2 * 3 * 4 too',
      });
      const block = message(bob.page, 'Code:').locator('pre.code-block');
      assert.equal(await block.locator('code').textContent(), `${payload}\nconst wide = "${'x'.repeat(300)}";`);
      assert.equal(await block.getAttribute('tabindex'), '0');
      assert.equal(await block.evaluate((pre) => pre.scrollWidth > pre.clientWidth && getComputedStyle(pre).overflowX === 'auto'), true);
      assert.match(await block.evaluate((pre) => getComputedStyle(pre).fontFamily), /mono/i);
      assert.equal(await message(bob.page, 'Code:').locator('.text').evaluate((text) => text.lastChild?.textContent), 'after');
      assert.equal(await message(bob.page, '🎉').locator('.text.jumbo').count(), 1);
      assert.equal(await message(bob.page, 'This is').locator('.text.jumbo').count(), 0);

      // A reply quoting markup, and a file named with markup.
      await act(bob.page, 'quote me', 'reply');
      await bob.page.locator('#attach-input').setInputFiles([{ name: '<img src=x onerror=alert(1)>.txt', mimeType: 'text/plain', buffer: Buffer.from('hi') }]);
      await uploaded(bob.page, 1);
      await say(bob.page, 'replying with a file');
      const reply = message(ann.page, 'replying with a file');
      await reply.waitFor();
      assert.equal(await reply.locator('.quote-text').textContent(), `quote me ${payload}`);
      assert.equal(await reply.locator('.download-name').textContent(), '<img src=x onerror=alert(1)>.txt');
      const injected = await ann.page.evaluate(() => ({
        images: document.querySelectorAll('#messages img').length,
        scripts: document.querySelectorAll('#messages script').length,
        pwned: /** @type {any} */ (window).__pwned,
      }));
      assert.deepEqual(injected, { images: 0, scripts: 0, pwned: undefined });
      assert.deepEqual(ann.errors, []);
      assert.deepEqual(bob.errors, []);
      await ann.context.close();
      await bob.context.close();
    } finally {
      await room.stop();
    }
  });

  it('the host deletes anyone\'s message through the desktop window, after confirming', async () => {
    const guest = await openPerson(suite.chrome.browser, suite.server.url, 'Guest');
    await say(guest.page, 'something the host removes');
    const context = await suite.chrome.browser.newContext({ viewport: { width: 1100, height: 760 } });
    await context.addInitScript(fakeDesktopBridge, suite.server.url);
    const host = await context.newPage();
    /** @type {Error[]} */
    const errors = [];
    host.on('pageerror', (error) => errors.push(error));
    await host.goto(suite.server.url);
    await join(host, 'Host');
    await message(host, 'the host removes').waitFor();
    assert.deepEqual((await shown(host, 'the host removes')).actions, ['reply', 'react', 'delete']);
    const id = Number(await message(host, 'the host removes').getAttribute('data-id'));
    // Cancelled: nothing happens.
    await act(host, 'the host removes', 'delete');
    await host.locator('#delete-dialog[open]', { hasText: 'by Guest' }).waitFor();
    await host.locator('#delete-cancel').click();
    const invoked = () => host.evaluate(() => /** @type {any[]} */ (/** @type {any} */ (window).__invoked).filter((i) => i.cmd === 'delete_message'));
    assert.deepEqual(await invoked(), []);
    // Confirmed: the app is asked to delete it (the room then tells everyone).
    await act(host, 'the host removes', 'delete');
    await host.locator('#delete-confirm').click();
    await host.waitForFunction(() => /** @type {any} */ (window).__invoked.some((/** @type {any} */ i) => i.cmd === 'delete_message'));
    assert.deepEqual(await invoked(), [{ cmd: 'delete_message', args: { id } }]);
    // A refusal from the app is shown.
    await host.evaluate(() => { /** @type {any} */ (window).__answers.delete_message = { error: 'no such message' }; });
    await act(host, 'the host removes', 'delete');
    await host.locator('#delete-confirm').click();
    await host.locator('#composer-error', { hasText: 'no such message' }).waitFor();
    assert.deepEqual(errors, []);
    await context.close();
    await guest.context.close();
  });

  it('"New since you were here" marks the first unseen message, after a visit and after the page was hidden', async () => {
    const room = await startServer({ args: ['--rate-limit', '0'] });
    try {
      const ann = await openPerson(suite.chrome.browser, room.url, 'Ann');
      const bob = await openPerson(suite.chrome.browser, room.url, 'Bob', { height: 500 });
      await say(ann.page, 'seen by Bob');
      await message(bob.page, 'seen by Bob').waitFor();
      assert.equal(await bob.page.locator('.unread-divider').count(), 0);

      // Bob's page is hidden (another tab in front) while Ann writes.
      await bob.page.evaluate(() => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      await say(ann.page, 'while you were away');
      await message(bob.page, 'while you were away').waitFor();
      assert.equal(await bob.page.locator('.unread-divider').count(), 0);
      await bob.page.evaluate(() => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
        document.dispatchEvent(new Event('visibilitychange'));
      });
      const next = (/** @type {import('playwright-core').Page} */ page) => page.locator('.unread-divider').evaluate((divider) => divider.nextElementSibling?.querySelector('.text')?.textContent);
      assert.equal(await next(bob.page), 'while you were away');
      assert.equal(await bob.page.locator('.unread-divider').textContent(), 'New since you were here');

      // Bob leaves; much is said; when he is back the divider is where he left off.
      await bob.page.goto('about:blank');
      for (let i = 1; i <= 30; i += 1) await say(ann.page, `news ${i}\nmore\nmore`);
      await message(ann.page, 'news 30').waitFor();
      await bob.page.goto(room.url);
      await bob.page.locator('#status[data-state="connected"]').waitFor();
      await message(bob.page, 'news 30').waitFor();
      assert.equal(await next(bob.page), 'news 1\nmore\nmore');
      // It is above the view: the button jumps to it.
      await bob.page.locator('#jump-unread:not([hidden])').click();
      await bob.page.waitForFunction(() => {
        const divider = document.querySelector('.unread-divider')?.getBoundingClientRect();
        const log = /** @type {HTMLElement} */ (document.getElementById('log')).getBoundingClientRect();
        return !!divider && divider.top >= log.top - 1 && divider.bottom <= log.bottom;
      });
      assert.equal(await bob.page.locator('#jump-unread').isVisible(), false);
      // Ann sees no divider for her own messages.
      assert.equal(await ann.page.locator('.unread-divider').count(), 0);
      assert.deepEqual(bob.errors, []);
      await ann.context.close();
      await bob.context.close();
    } finally {
      await room.stop();
    }
  });
});

/**
 * Makes the page believe it is hidden (another tab in front) or shown again.
 * @param {import('playwright-core').Page} page
 * @param {boolean} hidden
 */
function setHidden(page, hidden) {
  return page.evaluate((hidden) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

describe('the conversation, seen (axe-core WCAG 2.1 AA, screenshots)', () => {
  const suite = serverAndBrowser();

  it('every feature in light and dark, at 1440 and 360 px, and each new state passes axe', async () => {
    const room = await startServer({ args: ['--rate-limit', '0'] });
    try {
      const browser = suite.chrome.browser;
      const ann = await openPerson(browser, room.url, 'Ann', { width: 1440, height: 900 });
      const bob = await openPerson(browser, room.url, 'Bob');
      const cy = await openPerson(browser, room.url, 'Cy');
      await say(ann.page, 'Morning! The agenda for Friday is up: https://example.com/agenda');
      await say(bob.page, 'Thanks! About the **venue**: are we still at the _library_?');
      await message(ann.page, 'venue').waitFor();
      await act(ann.page, 'venue', 'reply');
      await say(ann.page, 'Yes, same room as last time.');
      await message(ann.page, 'same room').waitFor();
      await act(ann.page, 'same room', 'edit');
      await ann.page.locator('.editor-input').fill('Yes, same room as last time, second floor.');
      await ann.page.locator('.editor-input').press('Enter');
      await message(bob.page, 'second floor').waitFor();

      // Ann looks away; what comes next is new to her.
      await setHidden(ann.page, true);
      await cy.page.locator('#composer-input').fill('The view from the room 🌇');
      await paste(cy.page, [{ name: 'view-from-the-room.png', type: 'image/png', bytes: png(400, 225) }]);
      await uploaded(cy.page, 1);
      await cy.page.locator('#composer-input').press('Enter');
      await message(bob.page, 'The view').waitFor();
      await react(bob.page, 'The view', '🎉');
      await say(cy.page, 'And the settings I mentioned:\n```\n[room]\nname = "friday"\nseats = 12 # plus the sofa, which takes three people if they are friendly enough\n```');
      await say(cy.page, 'Sorry, wrong chat');
      await message(cy.page, 'wrong chat').waitFor();
      await act(cy.page, 'wrong chat', 'delete');
      await cy.page.locator('#delete-confirm').click();
      await bob.page.locator('#composer-input').fill('Minutes from last week, with `action items` at the end');
      await bob.page.locator('#attach-input').setInputFiles([{ name: 'minutes-2026-11-20.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(48213, 7) }]);
      await uploaded(bob.page, 1);
      await bob.page.locator('#composer-input').press('Enter');
      await say(bob.page, '🙌');
      await message(ann.page, '🙌').waitFor();
      await setHidden(ann.page, false);
      await react(ann.page, 'The view', '🎉');
      await react(ann.page, 'The view', '❤️');
      await message(cy.page, 'The view').locator('button.chip[data-emoji="❤️"]').waitFor();
      await react(cy.page, 'second floor', '👍');
      await message(ann.page, 'second floor').locator('button.chip[data-emoji="👍"]').waitFor();
      await ann.page.locator('.unread-divider').waitFor();
      await ann.page.waitForFunction(() => [...document.querySelectorAll('#messages img')].every((img) => /** @type {HTMLImageElement} */ (img).complete));
      await ann.page.mouse.move(0, 0);

      const page = ann.page;
      for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
        await page.emulateMedia({ colorScheme });
        for (const width of [1440, 360]) {
          await page.setViewportSize({ width, height: width === 360 ? 780 : 900 });
          await page.locator('#composer-input').fill('Perfect, see you all on Friday');
          await page.locator('#log').evaluate((log) => { log.scrollTop = log.scrollHeight; });
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `no horizontal scrolling at ${width} px (overflow ${overflow}px)`);
          await page.waitForTimeout(100);
          await screenshot(page, `conversation-${colorScheme}-${width}.png`);
          await expectAccessible(page, `the conversation, ${colorScheme}, ${width} px`);
        }
      }
      // The picture at the top of the README: light, the same size as before.
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 1100, height: 720 });
      // From the reply (quote, edit, reaction) past the unread divider to the picture and the code.
      await message(page, 'second floor').evaluate((item) => item.scrollIntoView({ block: 'start' }));
      await page.locator('#log').evaluate((log) => { log.scrollTop -= 12; });
      await page.locator('#jump-unread').waitFor({ state: 'hidden' });
      await page.waitForTimeout(100);
      await screenshot(page, 'readme.png');
      // Only on request, so that running the tests leaves the work tree as it was.
      if (process.env.HEARTH_UPDATE_SCREENSHOT === '1') copyFileSync(path.join(ARTIFACTS, 'readme.png'), path.join(ROOT, 'docs', 'screenshot.png'));

      for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
        await page.emulateMedia({ colorScheme });
        await page.setViewportSize({ width: 1100, height: 760 });
        await page.mouse.move(0, 0);
        const state = `${colorScheme}:`;

        // A message with focus shows its actions.
        await page.locator('#log').evaluate((log) => { log.scrollTop = log.scrollHeight; });
        await page.locator('#log').focus();
        await page.keyboard.press('ArrowUp');
        await page.keyboard.press('Tab');
        assert.equal(await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).dataset.action), 'reply');
        await page.mouse.move(0, 0);
        await expectAccessible(page, `${state} a message's actions, from the keyboard`);
        await screenshot(page, `conversation-actions-${colorScheme}.png`);

        // A reaction chip with focus says who reacted.
        await message(page, 'The view').locator('button.chip[data-emoji="🎉"]').focus();
        await page.keyboard.press('Shift+Tab');
        await page.keyboard.press('Tab');
        await message(page, 'The view').locator('.tip', { hasText: 'Bob and you' }).waitFor();
        await expectAccessible(page, `${state} who reacted, on focus`);

        // The palette, with a refused entry.
        await act(page, 'second floor', 'react');
        await page.locator('#reaction-input').fill('nope');
        await page.locator('#reaction-input').press('Enter');
        await page.locator('#reaction-error:not(:empty)').waitFor();
        await expectAccessible(page, `${state} the reaction palette`);
        await screenshot(page, `conversation-palette-${colorScheme}.png`);
        await page.keyboard.press('Escape');

        // Editing in place.
        await act(page, 'second floor', 'edit');
        await page.locator('.editor-input').waitFor();
        await expectAccessible(page, `${state} editing a message`);
        await screenshot(page, `conversation-edit-${colorScheme}.png`);
        await page.locator('.editor-input').press('Escape');

        // Replying, with a file attached, and a file refused for its size.
        await act(page, 'settings I mentioned', 'reply');
        await page.locator('#attach-input').setInputFiles([{ name: 'floor-plan.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(3000, 1) }]);
        await uploaded(page, 1);
        await page.evaluate(async () => (await import('/composer/uploads.js')).setLimits(1024 * 1024, 10));
        await page.locator('#attach-input').setInputFiles([{ name: 'whole-building-scan.tiff', mimeType: 'image/tiff', buffer: Buffer.alloc(1024 * 1024 + 1, 1) }]);
        await page.locator('#composer-error', { hasText: 'whole-building-scan.tiff is too big (max 1 MiB).' }).waitFor();
        await expectAccessible(page, `${state} replying with a file, and an upload refused`);
        await screenshot(page, `conversation-composer-${colorScheme}.png`);
        await page.evaluate(async () => (await import('/composer/uploads.js')).setLimits(10 * 1024 * 1024, 10));
        await page.locator('#attachments button.remove-attachment').click();
        await page.locator('#reply-cancel').click();
        await page.evaluate(async () => (await import('/composer/composer.js')).showError(''));

        // The delete confirmation, and a picture full size.
        await act(page, 'same room', 'delete');
        await page.locator('#delete-dialog[open]').waitFor();
        await expectAccessible(page, `${state} the delete confirmation`);
        await page.keyboard.press('Escape');
        await message(page, 'The view').locator('a.picture').click();
        await page.locator('#image-dialog[open]').waitFor();
        await page.waitForFunction(() => /** @type {HTMLImageElement} */ (document.getElementById('image-full')).complete);
        await expectAccessible(page, `${state} a picture full size`);
        await screenshot(page, `conversation-picture-${colorScheme}.png`);
        await page.keyboard.press('Escape');
      }
      for (const person of [ann, bob, cy]) {
        assert.deepEqual(person.errors, []);
        await person.context.close();
      }
    } finally {
      await room.stop();
    }
  });
});
