// Hostile messages rendered in WebKit: the engine of the desktop window on
// Linux and of Safari on every iPhone, which took 400 ms for what Chromium
// did in 0.1 ms. MiniBrowser (WebKitGTK's own) is driven by WebKitWebDriver
// under Xvfb, and a room of the real server sends it each input live, the
// way one hostile participant would, then a normal message that must still
// show within two seconds.
// Run with: xvfb-run -a node --test tests/desktop/webkit-render.test.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { freePort, startServer } from '../ui/harness.mjs';
import { PATHOLOGICAL } from '../ui/pathological.mjs';
import { WebDriver } from './webdriver.mjs';

const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver';
/** Copies of each input sent live, before the message that must show. */
const COPIES = 25;
/** How long the message after them may take to show. */
const LIMIT_MS = 2000;

/**
 * A participant on a plain WebSocket, joined as `name`.
 * @param {string} url the room's http URL
 * @param {string} name
 * @returns {Promise<WebSocket>}
 */
async function participant(url, name) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { origin: url });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const welcomed = new Promise((resolve) => {
    ws.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'welcome') resolve(undefined);
    });
  });
  ws.send(JSON.stringify({ type: 'hello', name }));
  await welcomed;
  return ws;
}

describe('hostile messages in WebKit', () => {
  /** @type {import('node:child_process').ChildProcess} */
  let driverProcess;
  const driver = new WebDriver('');
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let room;
  const home = mkdtempSync(path.join(tmpdir(), 'hearth-webkit-home-'));

  before(async () => {
    assert.ok(existsSync(MINIBROWSER), `MiniBrowser at ${MINIBROWSER} (webkit2gtk-driver)`);
    assert.ok(process.env.DISPLAY, 'a display (run under xvfb-run)');
    // Enough for every input at once: the room's own limits are not what
    // is measured here.
    room = await startServer({ args: ['--rate-limit', '0', '--history', '1000'] });
    const port = await freePort();
    driverProcess = spawn(WEBKIT_DRIVER, [`--port=${port}`], { env: { ...process.env, HOME: home }, stdio: 'ignore' });
    driver.base = `http://127.0.0.1:${port}`;
    await driver.until(async () => (await fetch(`${driver.base}/status`).catch(() => null))?.ok, 'WebKitWebDriver to listen');
    await driver.open({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
    }, room.url);
    // The desktop window's size: a narrower column lays a long word out
    // in more lines.
    await driver.call('POST', driver.s('/window/rect'), { width: 1000, height: 700 });
    await driver.until(async () => driver.execute("return !!document.getElementById('name-dialog')?.open"), 'the name prompt');
    await driver.type('#name-input', 'Reader');
    await driver.click('#name-submit');
    await driver.until(async () => (await driver.text('#status-text')) === 'Connected', 'the page to join');
  });

  after(async () => {
    await driver.end().catch(() => {});
    driverProcess?.kill('SIGTERM');
    await room?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it(`shows a message within ${LIMIT_MS} ms after ${COPIES} copies of each pathological input, sent live (benchmark)`, async () => {
    const mallory = await participant(room.url, 'Mallory');
    /** @type {number[]} */
    const figures = [];
    for (const [i, bomb] of PATHOLOGICAL.entries()) {
      // Plain-text frames: each is a message as is (what a generic client
      // sends), so the largest inputs fit the frame limit.
      for (let n = 0; n < COPIES; n += 1) mallory.send(bomb);
      const marker = `after input ${i}`;
      const sent = Date.now();
      mallory.send(marker);
      await driver.until(
        async () => driver.execute('return [...document.querySelectorAll("#messages .msg .text")].some((t) => t.textContent === arguments[0]);', [marker]),
        `"${marker}" to show`,
        60000,
      );
      figures.push(Date.now() - sent);
    }
    const width = await driver.execute("return Math.round(document.getElementById('messages').getBoundingClientRect().width)");
    console.log(`render benchmark (WebKit, live, a column ${width} px wide): ${COPIES} copies of each of ${PATHOLOGICAL.length} inputs; ` +
      `the message after them shown in ${figures.join(' / ')} ms`);
    figures.forEach((ms, i) => assert.ok(ms < LIMIT_MS, `input ${i} (${PATHOLOGICAL[i].slice(0, 20)}…): ${ms} ms`));
    mallory.close();
  });
});
