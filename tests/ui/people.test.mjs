// The people list in a large room: the welcome lists a first page of
// people, the rest load a page at a time with "Show more people", comings
// and goings arrive in batches, and the count is always the room's own.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { crowd, expectAccessible, launchBrowser, openPerson, proxySocket, recordSockets, screenshot, startServer } from './harness.mjs';

/** An init script: counts the `people` requests the page sends in `window.__peopleAsked`. */
function countPeopleRequests() {
  /** @type {any} */ const w = window;
  w.__peopleAsked = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (/** @type {any} */ data) {
    if (typeof data === 'string' && JSON.parse(data).type === 'people') w.__peopleAsked.push(JSON.parse(data));
    return send.call(this, data);
  };
}

/**
 * How many joins (or departures) the timeline's lines add up to: "Ann
 * joined", "Ann and Bob joined", "12 people joined, 3 left". Evaluated in
 * the page too (as `window.__said`), to wait until they add up.
 * @param {string[]} lines
 * @param {'joined' | 'left'} verb
 */
function said(lines, verb) {
  let total = 0;
  for (const line of lines) {
    for (const part of line.split(', ')) {
      if (!part.endsWith(` ${verb}`)) continue;
      const who = part.slice(0, -verb.length - 1);
      const counted = who.match(/^(\d+)(?: people)?$/);
      total += counted ? Number(counted[1]) : who.split(' and ').length;
    }
  }
  return total;
}

/**
 * Waits until the page's timeline says `count` people did `verb`.
 * @param {import('playwright-core').Page} page
 * @param {'joined' | 'left'} verb
 * @param {number} count
 */
async function waitUntilSaid(page, verb, count) {
  if (!(await page.evaluate(() => '__said' in window))) await page.evaluate(`window.__said = ${said.toString()}`);
  await page.waitForFunction(
    ([verb, count]) => {
      const lines = [...document.querySelectorAll('#messages > li.system')].map((li) => li.textContent ?? '');
      return /** @type {any} */ (window).__said(lines, verb) === count;
    },
    /** @type {const} */ ([verb, count]),
  );
}

describe('the people list of a large room', () => {
  /** @type {Awaited<ReturnType<typeof launchBrowser>>} */
  let chrome;
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let server;
  before(async () => {
    // Hundreds of hellos at once: past the room-wide budget, which is not what is tested here.
    server = await startServer({ args: ['--room-rate-limit', '0'] });
    chrome = await launchBrowser();
  });
  after(async () => {
    await chrome?.close();
    await server?.stop();
  });

  it('counts everyone, loads the rest on demand, follows a crowd coming and going, and keeps the timeline quiet', async () => {
    const pat = await openPerson(chrome.browser, server.url, 'Pat', {
      beforeGoto: async (page) => {
        await page.addInitScript(recordSockets);
        await page.addInitScript(countPeopleRequests);
      },
    });
    const page = pat.page;
    const more = page.locator('#people-more');
    const rows = page.locator('#people > li');
    /** @param {string} text */
    const counted = (text) => page.waitForFunction((text) => document.getElementById('people-count')?.textContent === text, text);
    /** @returns {Promise<string[]>} */
    const shownNames = () => page.locator('#people > li .name').allTextContents();
    const systemLines = () => page.locator('#messages > li.system').allTextContents();
    await counted('1');
    assert.equal(await more.isVisible(), false);

    const names = Array.from({ length: 230 }, (_, i) => `c${String(i + 1).padStart(3, '0')}`);
    const people = await crowd(server.url, names);
    try {
      // Pat saw them all arrive: the count and the list follow, and the
      // timeline sums the crowd up instead of a line per person.
      await counted('231');
      await page.waitForFunction(() => document.querySelectorAll('#people > li').length === 231);
      assert.equal(await more.isVisible(), false, 'everyone is loaded: nothing more to show');
      // The last summary may wait its turn (a couple of seconds at most).
      await waitUntilSaid(page, 'joined', 230);
      const lines = await systemLines();
      assert.equal(said(lines, 'joined'), 230, `every join is said once: ${JSON.stringify(lines)}`);
      assert.equal(said(lines, 'left'), 0);
      assert.ok(lines.length < 20, `a handful of lines, not one per person: ${lines.length}: ${JSON.stringify(lines)}`);
      assert.ok(lines.some((line) => /^\d+ people joined$/.test(line)), `a summary line: ${JSON.stringify(lines)}`);
      const announced = await page.locator('#announcer > *').allTextContents();
      assert.ok(announced.filter((text) => / joined$/.test(text) && !/people joined$/.test(text)).length <= 5, `no announcement per person: ${JSON.stringify(announced)}`);

      // A new connection (a network blip): the list starts over from the
      // welcome, which lists the first page only. The count is the room's.
      await page.evaluate(() => /** @type {any} */ (window).__sockets.at(-1).close());
      await page.locator('#status[data-state="reconnecting"]').waitFor();
      await page.locator('#status[data-state="connected"]').waitFor();
      await page.waitForFunction(() => /** @type {any} */ (window).__sockets.length === 2);
      await more.waitFor();
      await counted('231');
      const first = await rows.count();
      // A page (at most 100 people) and Pat, who joined last.
      assert.ok(first > 1 && first <= 101, `the first page and Pat: ${first}`);
      assert.equal(await more.textContent(), 'Show more people');
      assert.equal(await page.locator('#people-shown').textContent(), `Showing ${first} of 231`);
      assert.equal(await rows.filter({ hasText: '(you)' }).count(), 1, 'Pat is listed, once');
      await expectAccessible(page, 'a large room: the people list with more to show');
      await more.scrollIntoViewIfNeeded();
      await screenshot(page, 'people-more.png');

      // Show more people, from the keyboard, until everyone is shown: one request a page.
      await more.focus();
      let pages = 0;
      while (await more.isVisible()) {
        const before = await rows.count();
        await page.keyboard.press('Enter');
        await page.waitForFunction(
          (before) => document.querySelectorAll('#people > li').length > before || document.getElementById('people-more')?.hidden === true,
          before,
        );
        pages += 1;
        assert.ok(pages <= Math.ceil(231 / (first - 1)), `pages of ${first - 1} hold everyone: ${pages} so far`);
      }
      const all = await shownNames();
      assert.equal(all.length, 231);
      assert.equal(new Set(all).size, 231, 'nobody twice');
      assert.deepEqual([...all].sort(), ['Pat', ...names].sort());
      /** @type {{type: string, after: number}[]} */
      const asked = await page.evaluate(() => /** @type {any} */ (window).__peopleAsked);
      assert.equal(asked.length, pages, `one request a page: ${JSON.stringify(asked)}`);
      assert.ok(asked.every((request, i) => i === 0 || request.after > asked[i - 1].after), `each from where the last ended: ${JSON.stringify(asked)}`);
      assert.equal(await page.locator('#people-shown').isVisible(), false);
      assert.equal(await page.evaluate(() => document.activeElement?.closest('#people') !== null), true, 'the focus moved to the list');
      await counted('231');

      // 50 leave at once: the count and the list follow, in a line or two.
      const earlier = await systemLines();
      const linesBefore = earlier.length;
      const leaving = Array.from({ length: 50 }, (_, k) => names[Math.floor((k * names.length) / 50)]);
      assert.equal(new Set(leaving).size, 50);
      people.leave(leaving);
      await counted('181');
      await page.waitForFunction(() => document.querySelectorAll('#people > li').length === 181);
      const staying = await shownNames();
      assert.deepEqual(staying.filter((name) => leaving.includes(name)), []);
      assert.equal(new Set(staying).size, 181);
      assert.ok(staying.includes('Pat'));
      await waitUntilSaid(page, 'left', said(earlier, 'left') + 50);
      const after = await systemLines();
      assert.equal(said(after.slice(linesBefore), 'left'), 50, `every departure is said once: ${JSON.stringify(after.slice(linesBefore))}`);
      assert.ok(after.length - linesBefore < 10, `leaving is summed up too: ${JSON.stringify(after.slice(linesBefore))}`);
      assert.ok(after.length < 25, `the timeline stays quiet: ${after.length}`);
      assert.equal(await more.isVisible(), false);
      assert.deepEqual(pat.errors, []);
    } finally {
      people.close();
      await pat.context.close();
    }
  });
  it('keeps the count and the list exact through pages, batches and departures of people not loaded yet (frames played by a proxy)', async () => {
    // Every frame here is exact and known: the room's answers to `people`
    // are held back, and the test plays a large room to the page.
    const room = await startServer();
    /** @type {Awaited<ReturnType<typeof proxySocket>> | undefined} */
    let socket;
    const pat = await openPerson(chrome.browser, room.url, 'Pat', {
      beforeGoto: async (page) => { socket = await proxySocket(page); },
    });
    try {
      const proxy = /** @type {Awaited<ReturnType<typeof proxySocket>>} */ (socket);
      const page = pat.page;
      proxy.block.add('people');
      const welcome = proxy.received.find((frame) => frame.type === 'welcome');
      const you = welcome.you;
      /** @param {number} n */
      const user = (n) => ({ id: 1000 + n, uid: `uid-${n}`, name: `u${String(n).padStart(3, '0')}` });
      /** @param {number} from @param {number} to */
      const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => user(from + i));
      /** @param {string} text */
      const counted = (text) => page.waitForFunction((text) => document.getElementById('people-count')?.textContent === text, text);
      const names = () => page.locator('#people > li .name').allTextContents();
      /** @param {string[]} expected */
      const listed = async (expected) => {
        await page.waitForFunction((n) => document.querySelectorAll('#people > li').length === n, expected.length);
        assert.deepEqual(await names(), expected);
      };
      const more = page.locator('#people-more');
      const lines = () => page.locator('#messages > li.system').allTextContents();

      // A welcome of a room of 250: the first 100 (u001…u100), then Pat.
      proxy.inject({ ...welcome, users: range(1, 100), people: 250, people_next: 100 });
      await counted('250');
      await listed([...range(1, 100).map((u) => u.name), 'Pat']);
      await more.waitFor();
      assert.equal(await page.locator('#people-shown').textContent(), 'Showing 101 of 250');
      // The button passes in dark and narrow too (the light, wide case is checked above).
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.setViewportSize({ width: 360, height: 760 });
      await more.scrollIntoViewIfNeeded();
      await expectAccessible(page, 'more people to show, dark, 360 px');
      await screenshot(page, 'people-more-narrow-dark.png');
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 1100, height: 720 });

      // A batch: two newcomers (they join at the end, past what is loaded:
      // not listed yet) and two departures, one of someone not loaded.
      proxy.inject({ type: 'presence', joined: [user(251), user(252)], left: [user(5), user(150)], people: 250 });
      await page.locator('#messages > li.system', { hasText: 'u251 and u252 joined, u005 and u150 left' }).waitFor();
      await counted('250');
      assert.equal((await names()).includes('u005'), false);
      assert.equal((await names()).includes('u251'), false);

      // One request at a time, from where the welcome ended.
      await more.click();
      await page.locator('#people-more[aria-disabled="true"]', { hasText: 'Loading people…' }).waitFor();
      // Pressed again while loading (the focus is still on it): nothing more is asked.
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'people-more');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Space');
      assert.deepEqual(proxy.sent.filter((f) => f.type === 'people'), [{ type: 'people', after: 100 }]);
      // The page (u150 is gone already; it overlaps with someone shown, who is not doubled).
      proxy.inject({ type: 'people', users: [user(100), ...range(101, 149), ...range(151, 200)], next: 200 });
      await page.locator('#people-more:not([aria-disabled="true"])', { hasText: 'Show more people' }).waitFor();
      const second = [...range(1, 200).filter((u) => u.name !== 'u005' && u.name !== 'u150').map((u) => u.name), 'Pat'];
      // Pat, whose place is not reached yet, stays last.
      await listed(second);
      assert.equal(await page.locator('#people-shown').textContent(), 'Showing 199 of 250');

      // A rename of someone loaded shows; a rename of someone not loaded changes nothing.
      proxy.inject({ type: 'renamed', user: { ...user(7), name: 'Seven' }, previous: 'u007' });
      proxy.inject({ type: 'renamed', user: { ...user(220), name: 'Later' }, previous: 'u220' });
      await page.locator('#people > li', { hasText: 'Seven' }).waitFor();
      assert.equal((await names()).includes('Later'), false);

      // The last page: the rest, the newcomers, and Pat in joining order.
      await more.click();
      assert.deepEqual(proxy.sent.filter((f) => f.type === 'people').at(-1), { type: 'people', after: 200 });
      proxy.inject({ type: 'people', users: [...range(201, 249).map((u) => (u.id === 1220 ? { ...u, name: 'Later' } : u)), you, user(251), user(252)], next: null });
      await more.waitFor({ state: 'hidden' });
      const everyone = [...second.slice(0, -1).map((n) => (n === 'u007' ? 'Seven' : n)), ...range(201, 249).map((u) => (u.name === 'u220' ? 'Later' : u.name)), 'Pat', 'u251', 'u252'];
      assert.equal(everyone.length, 250);
      await listed(everyone);
      await counted('250');
      assert.equal(await page.locator('#people-shown').isVisible(), false);

      // Everyone is loaded: newcomers show at once; departures go, one by one or in a batch.
      proxy.inject({ type: 'joined', user: user(253) });
      await counted('251');
      proxy.inject({ type: 'left', user: user(1) });
      await counted('250');
      proxy.inject({ type: 'presence', joined: [user(254), user(255), user(256)], left: [user(2), user(3), user(4), user(253)], people: 249 });
      await counted('249');
      await listed([...everyone.filter((n) => !['u001', 'u002', 'u003', 'u004'].includes(n)), 'u254', 'u255', 'u256']);

      // A room shrinking below batching sends its last batch, then goes
      // back to one frame per change; the count follows each.
      proxy.inject({ type: 'presence', joined: [], left: [user(6)], people: 248 });
      proxy.inject({ type: 'left', user: user(8) });
      proxy.inject({ type: 'joined', user: user(257) });
      await page.locator('#people > li', { hasText: 'u257' }).waitFor();
      await counted('248');
      assert.equal(await page.locator('#people > li').count(), 248);

      // The timeline said each change once, and sums up past a burst.
      const said = await lines();
      assert.ok(said.length <= 8, JSON.stringify(said));
      assert.equal(said[0], 'u251 and u252 joined, u005 and u150 left');
      await expectAccessible(page, 'a large room, everyone loaded');
      assert.deepEqual(pat.errors, []);
    } finally {
      await pat.context.close();
      await room.stop();
    }
  });
});
