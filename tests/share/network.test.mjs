// Sharing the room with a real second host: a network namespace joined by a
// veth pair (198.18.0.1 here, 198.18.0.2 there; see network.mjs). From
// inside it, a real WebSocket client (guest.mjs) and Debian's Chromium
// (through `ip netns exec`) try the room; the host's controls are the
// headless server's loopback routes, as a terminal would use them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { join, launchBrowser, say, startServer } from '../ui/harness.mjs';
import { createNetwork, GUEST_ADDR, HOST_ADDR } from './network.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PATIENCE = 10_000;

/** @type {ReturnType<typeof createNetwork>} */ let network;
/** @type {Awaited<ReturnType<typeof startServer>>} */ let server;
/** @type {Guest} */ let guest;
/** @type {Local} */ let local;
/** @type {string} */ let shared;
/** @type {string[]} */ const cleanups = [];

/** The guest agent inside the namespace: one JSON line out, one back. */
class Guest {
  /** @param {import('node:child_process').ChildProcess} child */
  constructor(child) {
    this.child = child;
    this.seq = 0;
    /** @type {Map<number, (answer: any) => void>} */
    this.waiting = new Map();
    this.stderr = '';
    child.stderr?.on('data', (chunk) => { this.stderr += chunk; });
    createInterface({ input: /** @type {any} */ (child.stdout) }).on('line', (line) => {
      const answer = JSON.parse(line);
      this.waiting.get(answer.seq)?.(answer);
      this.waiting.delete(answer.seq);
    });
  }

  /** @param {string} op @param {object} [args] @returns {Promise<any>} */
  call(op, args = {}) {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`guest: ${op} took too long\n${this.stderr}`)), PATIENCE);
      this.waiting.set(seq, (answer) => { clearTimeout(timer); resolve(answer); });
      this.child.stdin?.write(`${JSON.stringify({ seq, op, ...args })}\n`);
    });
  }

  /** @param {string} url @param {string} [cookie] */
  get(url, cookie) { return this.call('get', { url, cookie }); }

  /** Opens a WebSocket from the shared page's origin; resolves its status. */
  async open(/** @type {string} */ id, /** @type {string | undefined} */ cookie) {
    const answer = await this.call('open', { id, url: `ws://${shared}/ws`, cookie, origin: `http://${shared}` });
    return answer.status ?? answer.error;
  }
}

/** A client on this computer, through loopback, as a browser here would be. */
class Local {
  /** @param {string} url */
  static async join(url, /** @type {string} */ name) {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { origin: url });
    const me = new Local(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({ type: 'hello', name }));
    await me.next('welcome');
    return me;
  }

  /** @param {WebSocket} ws */
  constructor(ws) {
    this.ws = ws;
    /** @type {any[]} */
    this.frames = [];
    /** @type {(() => void) | null} */
    this.wake = null;
    ws.on('message', (data) => { this.frames.push(JSON.parse(data.toString())); this.wake?.(); });
  }

  /** The next frame of `type` (and `text`), waiting for it. */
  async next(/** @type {string} */ type, /** @type {string} */ text = '') {
    const deadline = Date.now() + PATIENCE;
    for (;;) {
      const index = this.frames.findIndex((f) => f.type === type && (!text || f.text === text));
      if (index !== -1) return this.frames.splice(index, 1)[0];
      assert.ok(Date.now() < deadline, `no ${type} ${text} on loopback`);
      await new Promise((resolve) => { this.wake = () => resolve(undefined); setTimeout(resolve, 200); });
    }
  }

  /** Says `text` and waits for it to come back: the loopback room works. */
  async roundTrip(/** @type {string} */ text) {
    this.ws.send(JSON.stringify({ type: 'say', text }));
    return this.next('message', text);
  }
}

/**
 * The host token of a server started with a data directory, as the
 * terminal's `$(cat DIR/host-token)` reads it.
 * @param {{dataDir: string | null}} started
 */
function hostAuth(started) {
  assert.ok(started.dataDir, 'the server keeps a data directory');
  return `Bearer ${readFileSync(path.join(started.dataDir, 'host-token'), 'utf8').trim()}`;
}

/**
 * A host request as a terminal makes it: to loopback, with no Origin and
 * with the host token.
 * @param {'GET' | 'POST'} method @param {string} target @param {object} [body]
 * @returns {Promise<{status: number, json: any}>}
 */
function host(method, target, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const request = http.request(`${server.url}${target}`, {
      method,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), authorization: hostAuth(server) },
    }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: text ? JSON.parse(text) : null }));
    });
    request.on('error', reject);
    request.end(data);
  });
}

/** The pass cookie from a Set-Cookie list, as a Cookie header value. */
function passOf(/** @type {string[]} */ setCookie) {
  const pass = setCookie.find((c) => c.startsWith('hearth_pass='));
  assert.ok(pass, `a pass cookie in ${setCookie}`);
  for (const attribute of ['HttpOnly', 'SameSite=Strict']) assert.ok(pass.includes(attribute), pass);
  return pass.split(';')[0];
}

before(async () => {
  network = createNetwork();
  // Sharing is off until the host turns it on; its address is the veth's.
  server = await startServer({ dataDir: true, args: ['--share-addr', HOST_ADDR] });
  shared = `${HOST_ADDR}:${server.port}`;
  const child = network.spawn(process.execPath, [path.join(HERE, 'guest.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
  guest = new Guest(child);
  local = await Local.join(server.url, 'host-side');
});

after(async () => {
  local?.ws.terminate();
  guest?.child.kill();
  for (const dir of cleanups) rmSync(dir, { recursive: true, force: true });
  await server?.stop();
  network?.remove();
});

test('with sharing off, nothing answers on the network address', async () => {
  const answer = await guest.get(`http://${shared}/`);
  assert.equal(answer.error, 'ECONNREFUSED');
  const { json } = await host('GET', '/host/share');
  assert.equal(json.share.on, false);
  await local.roundTrip('loopback works while not shared');
});

test('shared: without the invite the network gets 401 or 403 and nothing of the room', async () => {
  const { status, json } = await host('POST', '/host/share', { on: true });
  assert.equal(status, 200);
  assert.equal(json.share.on, true);
  assert.deepEqual(json.share.addresses, [`http://${shared}`]);
  assert.match(json.share.link, new RegExp(`^http://${shared.replaceAll('.', '\\.')}/join/[0-9a-f]{32}$`));
  assert.match(json.share.qr_svg, /^<svg/);

  const page = await guest.get(`http://${shared}/`);
  assert.equal(page.status, 401);
  assert.match(page.body, /Ask the host for an invite link/);
  assert.doesNotMatch(page.body, /host-side|app\.js/);
  for (const target of ['/app.js', '/healthz', '/style.css']) {
    assert.equal((await guest.get(`http://${shared}${target}`)).status, 401, target);
  }
  assert.equal(await guest.open('nobody'), 401);
  const wrong = await guest.get(`http://${shared}/join/${'0'.repeat(32)}`);
  assert.equal(wrong.status, 403);
  assert.equal(wrong.setCookie.length, 0);
  assert.equal(await guest.open('forger', `hearth_pass=${'1'.repeat(32)}`), 403);
  // Host powers are not reachable from the network, pass or not.
  assert.equal((await guest.get(`http://${shared}/host/share`)).status, 401);
  await local.roundTrip('loopback works while shared');
});

test('the invite link buys a pass, and the guest chats with this computer both ways', async () => {
  const { json } = await host('GET', '/host/share');
  const invited = await guest.get(json.share.link);
  assert.equal(invited.status, 200);
  const cookie = passOf(invited.setCookie);
  assert.equal((await guest.get(`http://${shared}/`, cookie)).status, 200);
  assert.equal((await guest.get(`http://${shared}/host/share`, cookie)).status, 403, 'no host powers with a pass');
  assert.equal(await guest.open('ws-guest', cookie), 101);
  await guest.call('send', { id: 'ws-guest', frame: { type: 'hello', name: 'lan-guest' } });
  const welcome = await guest.call('next', { id: 'ws-guest', type: 'welcome' });
  assert.ok(welcome.frame.users.some((/** @type {any} */ u) => u.name === 'host-side'));

  await guest.call('send', { id: 'ws-guest', frame: { type: 'say', text: 'hello from the other host' } });
  const heard = await local.next('message', 'hello from the other host');
  assert.equal(heard.from.name, 'lan-guest');
  await local.roundTrip('hello back from this computer');
  const back = await guest.call('next', { id: 'ws-guest', type: 'message', text: 'hello back from this computer' });
  assert.equal(back.frame.from.name, 'host-side');

  const people = (await host('GET', '/host/share')).json.people;
  assert.deepEqual(people.find((/** @type {any} */ p) => p.name === 'lan-guest')?.address, GUEST_ADDR);
  assert.equal(people.find((/** @type {any} */ p) => p.name === 'host-side')?.address, null);
  guestCookie = cookie;
});

/** The WebSocket guest's pass, for the tests after the one that got it. */
let guestCookie = '';

test('Chromium on the other host joins with the link; a loopback browser needs no invite', async () => {
  const { json } = await host('GET', '/host/share');
  const home = mkdtempSync(path.join(tmpdir(), 'hearth-share-home-'));
  cleanups.push(home);
  const wrapper = path.join(home, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${network.ns} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await chromium.launch({
    executablePath: wrapper,
    env: { ...process.env, HOME: home },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  const here = await launchBrowser();
  try {
    const page = await browser.newPage();
    /** @type {string[]} */
    const problems = [];
    page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
    page.on('pageerror', (error) => problems.push(error.message));

    // Without the invite: the ask page.
    const refused = await page.goto(`http://${shared}/`);
    assert.equal(refused?.status(), 401);
    await page.getByRole('heading', { name: 'Ask the host for an invite link' }).waitFor();
    // That 401 is the one error the console should show.
    assert.equal(problems.length, 1, problems.join('\n'));
    problems.length = 0;

    await page.goto(json.share.link);
    await page.waitForURL(`http://${shared}/`);
    assert.ok(!page.url().includes('/join/'), 'the secret left the address bar');
    await join(page, 'chromium-guest');
    assert.equal(await page.evaluate(() => document.cookie), '', 'no script can read the pass');
    assert.equal(await page.evaluate(() => window.isSecureContext), false);
    assert.equal(await page.locator('#notify-button').isHidden(), true, 'notifications need a secure context');
    await say(page, 'typed on the other host');
    assert.equal((await local.next('message', 'typed on the other host')).from.name, 'chromium-guest');
    await local.roundTrip('seen in the guest browser');
    await page.locator('.msg', { hasText: 'seen in the guest browser' }).first().waitFor();
    assert.deepEqual(problems, [], 'nothing errs in the console');
    await page.close();

    // On this computer, no invite is needed, sharing or not.
    const context = await here.browser.newContext();
    const mine = await context.newPage();
    await mine.goto(server.url);
    await join(mine, 'loopback-browser');
    await say(mine, 'no invite needed here');
    await local.next('message', 'no invite needed here');
  } finally {
    await browser.close();
    await here.close();
  }
});

test('after New link the old link and passes fail, and whoever is in stays', async () => {
  const before = (await host('GET', '/host/share')).json.share.link;
  const { status, json } = await host('POST', '/host/share/new-link', {});
  assert.equal(status, 200);
  assert.notEqual(json.share.link, before);
  assert.equal((await guest.get(before)).status, 403);
  assert.equal(await guest.open('old-pass', guestCookie), 403);
  // Still in: the guest's open WebSocket goes on.
  await guest.call('send', { id: 'ws-guest', frame: { type: 'say', text: 'still here after a new link' } });
  await local.next('message', 'still here after a new link');
});

test('Remove closes the guest with 1008, and their pass cannot come back', async () => {
  const { json } = await host('GET', '/host/share');
  const invited = await guest.get(json.share.link);
  const cookie = passOf(invited.setCookie);
  assert.equal(await guest.open('to-remove', cookie), 101);
  await guest.call('send', { id: 'to-remove', frame: { type: 'hello', name: 'removed-guest' } });
  const welcome = await guest.call('next', { id: 'to-remove', type: 'welcome' });
  const { status } = await host('POST', `/host/people/${welcome.frame.you.id}/remove`);
  assert.equal(status, 204);
  const closed = await guest.call('closed', { id: 'to-remove' });
  assert.deepEqual(closed, { seq: closed.seq, code: 1008, reason: 'removed by the host' });
  assert.equal(await guest.open('came-back', cookie), 403);
  assert.equal((await guest.get(`http://${shared}/`, cookie)).status, 403);
  await local.roundTrip('loopback works after a removal');
});

test('Stop sharing closes the network with 1001 and the address stops answering', async () => {
  const { json } = await host('GET', '/host/share');
  const cookie = passOf((await guest.get(json.share.link)).setCookie);
  assert.equal(await guest.open('last', cookie), 101);
  await guest.call('send', { id: 'last', frame: { type: 'hello', name: 'last-guest' } });
  await guest.call('next', { id: 'last', type: 'welcome' });

  const stopped = await host('POST', '/host/share', { on: false });
  assert.equal(stopped.json.share.on, false);
  const closed = await guest.call('closed', { id: 'last' });
  assert.equal(closed.code, 1001);
  assert.equal((await guest.get(`http://${shared}/`, cookie)).error, 'ECONNREFUSED');
  await local.roundTrip('loopback works after sharing stops');
});

test('--share shares at start and prints the invite once on the terminal', async () => {
  const started = await startServer({ dataDir: true, args: ['--share', '--share-addr', `${HOST_ADDR}:0`] });
  try {
    const { json } = await new Promise((resolve, reject) => {
      http.get(`${started.url}/host/share`, { headers: { authorization: hostAuth(started) } }, (response) => {
        let text = '';
        response.on('data', (chunk) => { text += chunk; });
        response.on('end', () => resolve({ json: JSON.parse(text) }));
      }).on('error', reject);
    });
    assert.equal(json.share.on, true);
    const link = json.share.link;
    assert.match(link, new RegExp(`^http://${HOST_ADDR.replaceAll('.', '\\.')}:\\d+/join/[0-9a-f]{32}$`));
    assert.equal(started.log().split(link).length - 1, 1, `the link, printed once:\n${started.log()}`);
    assert.match(started.log(), /unencrypted/);
    const invited = await guest.get(link);
    assert.equal(invited.status, 200, 'the printed link works from the other host');
  } finally {
    await started.stop();
  }
});
