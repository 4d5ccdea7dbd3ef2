// Test harness: the real headless server on a free loopback port, and real
// Chromium (Debian's) driven by playwright-core. Nothing is downloaded.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.join(ROOT, 'artifacts', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SERVER_BIN = path.join(ROOT, 'target', 'debug', process.platform === 'win32' ? 'hearth-server.exe' : 'hearth-server');

let built = false;
const UI_FROM_DISK = process.env.HEARTH_UI_FROM_DISK === '1';

/**
 * Builds the headless server once per test process (skipped with
 * HEARTH_SKIP_BUILD=1, when the binary is built and kept current elsewhere).
 */
function buildServer() {
  if (built || process.env.HEARTH_SKIP_BUILD === '1') return;
  execFileSync('cargo', ['build', '--quiet', '-p', 'hearth-server'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

export { freePort } from '../../scripts/system.mjs';

/**
 * Starts `hearth-server` on 127.0.0.1 (port 0 = a free one). It keeps
 * nothing on disk (`--ephemeral`) unless `dataDir` is given: `true` for a
 * fresh temporary directory the harness removes after `stop()`, or the path
 * of one the test owns (to restart a server on the same conversation). A
 * test server never writes to the user's real data directory.
 * @param {{port?: number, args?: string[], dataDir?: boolean | string}} [options]
 */
export async function startServer(options = {}) {
  buildServer();
  /** @type {string | null} */
  let dataDir = null;
  let ownsDataDir = false;
  if (options.dataDir === true) {
    dataDir = mkdtempSync(path.join(tmpdir(), 'hearth-data-'));
    ownsDataDir = true;
  } else if (typeof options.dataDir === 'string') {
    dataDir = options.dataDir;
  }
  const storage = dataDir === null ? ['--ephemeral'] : ['--data-dir', dataDir];
  const args = ['--addr', `127.0.0.1:${options.port ?? 0}`, '--print-address', ...storage, ...(options.args ?? [])];
  const child = spawn(SERVER_BIN, args, { env: { ...process.env, RUST_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { log += chunk; });
  // `--print-address` prints the room's URL alone on the first line of stdout.
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 15000);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline === -1) return;
      clearTimeout(timer);
      resolve(out.slice(0, newline).trim());
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  const port = Number(new URL(url).port);
  const removeDataDir = () => {
    if (ownsDataDir && dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    url,
    port,
    dataDir,
    log: () => log,
    /**
     * Stops the server with SIGTERM and waits for it to exit; rejects unless
     * it exits cleanly (status 0), as a graceful shutdown does.
     * @returns {Promise<number>}
     */
    stop: () =>
      new Promise((resolve, reject) => {
        /** @param {number | null} code @param {string | null} signal */
        const check = (code, signal) => {
          removeDataDir();
          if (code === 0) resolve(code);
          else reject(new Error(`hearth-server exited with ${code ?? signal}:\n${log}`));
        };
        if (child.exitCode !== null || child.signalCode !== null) return check(child.exitCode, child.signalCode);
        child.once('exit', check);
        child.kill('SIGTERM');
      }),
  };
}

/** Launches Debian's Chromium with a throwaway profile and HOME. */
export async function launchBrowser() {
  const home = mkdtempSync(path.join(tmpdir(), 'hearth-ui-home-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    env: { ...process.env, HOME: home },
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic',
      // A page fulfilled by the test has no address, so Chromium would take
      // it for a public site and block its WebSocket to loopback.
      ...(UI_FROM_DISK ? ['--disable-features=LocalNetworkAccessChecks'] : [])],
  });
  if (UI_FROM_DISK) {
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (options) => {
      const context = await newContext(options);
      await serveUiFromDisk(context);
      return context;
    };
  }
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

const UI_DIR = path.join(ROOT, 'ui');
const UI_TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

/**
 * With HEARTH_UI_FROM_DISK=1: the room's pages get `ui/` as it is in the
 * working tree instead of the copy embedded in the server binary when it was
 * built, so UI changes can be tested without rebuilding the server. Headers
 * (the Content-Security-Policy above all) are still the server's own.
 * @param {import('playwright-core').BrowserContext} context
 */
async function serveUiFromDisk(context) {
  await context.route((url) => url.hostname === '127.0.0.1' && url.pathname !== '/ws' && url.pathname !== '/healthz', async (route) => {
    const { pathname } = new URL(route.request().url());
    const file = path.join(UI_DIR, pathname === '/' ? 'index.html' : decodeURIComponent(pathname));
    if (!file.startsWith(UI_DIR + path.sep) || !existsSync(file) || !statSync(file).isFile()) return route.continue();
    const headers = { ...route.request().headers() };
    delete headers['if-none-match'];
    const response = await route.fetch({ headers });
    const served = { ...response.headers() };
    delete served.etag;
    delete served['content-length'];
    served['content-type'] = /** @type {Record<string, string>} */ (UI_TYPES)[path.extname(file)] ?? 'application/octet-stream';
    await route.fulfill({ status: 200, headers: served, body: readFileSync(file) });
  });
}

/**
 * Opens the room in a fresh context (its own localStorage: one person) and
 * joins as `name` unless `name` is null. `view.beforeGoto` runs on the page
 * before it loads (to route its WebSocket, say).
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {string | null} name
 * @param {{width?: number, height?: number, colorScheme?: 'light' | 'dark',
 *   beforeGoto?: (page: import('playwright-core').Page) => Promise<unknown>}} [view]
 */
export async function openPerson(browser, url, name, view = {}) {
  const context = await browser.newContext({
    viewport: { width: view.width ?? 1100, height: view.height ?? 720 },
    colorScheme: view.colorScheme ?? 'light',
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  page.on('dialog', (dialog) => {
    errors.push(new Error(`unexpected dialog: ${dialog.message()}`));
    dialog.dismiss();
  });
  await view.beforeGoto?.(page);
  await page.goto(url);
  if (name !== null) await join(page, name);
  return { page, context, errors };
}

/**
 * Fills the name prompt and waits until joined.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function join(page, name) {
  await page.locator('#name-input').fill(name);
  await page.locator('#name-submit').click();
  await page.locator('#my-name', { hasText: name }).waitFor();
  await page.locator('#status[data-state="connected"]').waitFor();
}

/**
 * Types and sends a message with the keyboard, as a person would.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
export async function say(page, text) {
  await page.locator('#composer-input').fill(text);
  await page.locator('#composer-input').press('Enter');
}

/** @param {import('playwright-core').Page} page @param {string} file */
export async function screenshot(page, file) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, file) });
}

/**
 * An init script (for `page.addInitScript`) that records the page's
 * WebSockets in `window.__sockets` and their close codes in
 * `window.__closeCodes`, so a test can drop a socket as a network blip would,
 * or check how the server closed it.
 */
export function recordSockets() {
  const Native = window.WebSocket;
  /** @type {WebSocket[]} */
  const sockets = [];
  /** @type {number[]} */
  const closeCodes = [];
  /** @type {any} */ (window).__sockets = sockets;
  /** @type {any} */ (window).__closeCodes = closeCodes;
  window.WebSocket = class extends Native {
    /** @param {string | URL} url @param {string | string[]} [protocols] */
    constructor(url, protocols) {
      super(url, protocols);
      sockets.push(this);
      this.addEventListener('close', (event) => closeCodes.push(event.code));
    }
  };
}

/**
 * For a `describe` block: starts a server and a browser before its tests and
 * stops both after. Read `suite.server` and `suite.chrome` inside the tests.
 * @returns {{server: Awaited<ReturnType<typeof startServer>>, chrome: Awaited<ReturnType<typeof launchBrowser>>}}
 */
export function serverAndBrowser() {
  const suite = /** @type {{server: any, chrome: any}} */ ({ server: null, chrome: null });
  before(async () => {
    suite.server = await startServer();
    suite.chrome = await launchBrowser();
  });
  after(async () => {
    await suite.chrome?.close();
    await suite.server?.stop();
  });
  return suite;
}

/** axe-core's source, evaluated in the page (the CSP allows no injected <script>). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core's WCAG 2.0/2.1 A and AA rules on the page as it is now and
 * throws, listing each violation and where, if any rule fails.
 * @param {import('playwright-core').Page} page
 * @param {string} state what the page is showing, for the message
 */
export async function expectAccessible(page, state) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await /** @type {any} */ (window).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((/** @type {any} */ v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      where: v.nodes.slice(0, 5).map((/** @type {any} */ n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  });
  if (violations.length > 0) {
    throw new Error(`${state}: ${violations.length} accessibility violation(s):\n${JSON.stringify(violations, null, 2)}`);
  }
}

/**
 * An init script (for `addInitScript`) that makes the page believe it runs
 * in the desktop window: a stand-in for Tauri's bridge that answers the
 * app's commands, records every `invoke` in `window.__invoked` ({cmd, args})
 * and the notifications it would send in `window.__sent`. The window counts
 * as in the background.
 *
 * Pass the room's URL, or `{url, dataDir, answers}`: `dataDir` is what
 * `room_info` says keeps the conversation (null: ephemeral); `answers` maps
 * a command to what it resolves to, or to `{error: "..."}` (that key
 * alone) to reject with that string as Tauri does, or to `{held: answer}`
 * to give that answer only once the test calls `window.__release(cmd)` (to
 * see the page while it waits). A test may change `window.__answers` later, and send the page
 * an event from the app with `window.__emit(name, payload)`.
 *
 * Sharing with the network is off (`share_status`, `set_sharing` and
 * `new_invite_link` answer that), and `people` lists nobody, unless
 * `answers` says otherwise.
 * @param {string | {url: string, dataDir?: string | null, answers?: Record<string, unknown>}} options
 */
export function fakeDesktopBridge(options) {
  const { url, dataDir = null, answers = {} } = typeof options === 'string' ? { url: options } : options;
  /** @type {any} */ const w = window;
  w.__sent = [];
  w.__invoked = [];
  w.__answers = {
    room_info: { url, note: null, data_dir: dataDir },
    room_stats: { connections: 1, people: 0 },
    open_logs_folder: null,
    open_data_folder: null,
    export_conversation: { path: '/home/host/hearth-conversation.md', count: 3 },
    clear_history: null,
    when_closed: 'ask',
    set_when_closed: null,
    close_choice: null,
    share_status: { on: false, addresses: [], link: null, qr_svg: null, error: null },
    set_sharing: { on: false, addresses: [], link: null, qr_svg: null, error: null },
    new_invite_link: { on: false, addresses: [], link: null, qr_svg: null, error: null },
    people: [],
    remove_person: null,
    rooms: { rooms: [{ id: 1, name: 'General', kind: 'room', archived: false, default: true }], anyone_creates_rooms: false },
    create_room: { id: 2, name: 'Track A', kind: 'room', archived: false },
    change_room: { id: 2, name: 'Track A', kind: 'room', archived: true },
    delete_room: null,
    set_anyone_creates_rooms: null,
    ...answers,
  };
  /** @type {Record<string, (() => void)[]>} */
  const held = {};
  w.__release = (/** @type {string} */ cmd) => {
    for (const release of held[cmd]?.splice(0) ?? []) release();
  };
  /** @type {Record<string, ((event: {payload: unknown}) => void)[]>} */
  const listeners = {};
  w.__emit = (/** @type {string} */ name, /** @type {unknown} */ payload) => {
    for (const handler of listeners[name] ?? []) handler({ payload });
  };
  w.__TAURI__ = {
    core: {
      invoke: async (/** @type {string} */ cmd, /** @type {object | undefined} */ args) => {
        w.__invoked.push(args === undefined ? { cmd } : { cmd, args });
        let answer = w.__answers[cmd];
        if (answer && typeof answer === 'object' && 'held' in answer) {
          answer = answer.held;
          await new Promise((resolve) => (held[cmd] ??= []).push(() => resolve(undefined)));
        }
        // `{error}` alone is a rejection; a ShareStatus has an `error` field among others.
        if (answer && typeof answer === 'object' && 'error' in answer && Object.keys(answer).length === 1) throw answer.error;
        return answer ?? null;
      },
    },
    event: {
      listen: async (/** @type {string} */ name, /** @type {(event: {payload: unknown}) => void} */ handler) => {
        (listeners[name] ??= []).push(handler);
        return () => {};
      },
    },
    window: { getCurrentWindow: () => ({ setTitle: async () => {} }) },
    opener: { openUrl: async () => {} },
    notification: {
      isPermissionGranted: async () => true,
      requestPermission: async () => 'granted',
      sendNotification: (/** @type {object} */ options) => w.__sent.push(options),
    },
  };
  document.hasFocus = () => false;
}

/**
 * A plain WebSocket client of the room (as a script would be), run from a
 * page of the room's origin that is not the chat page. It joins as `name`.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url the room's address
 * @param {string} name
 */
export async function rawClient(browser, url, name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/healthz`);
  await page.evaluate(async ({ url, name }) => {
    /** @type {any} */ const w = window;
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
    w.__ws = ws;
    w.__frames = [];
    ws.addEventListener('message', (event) => w.__frames.push(JSON.parse(event.data)));
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve);
      ws.addEventListener('error', reject);
    });
    ws.send(JSON.stringify({ type: 'hello', name }));
    await new Promise((resolve) => {
      const check = () => (w.__frames.some((/** @type {any} */ f) => f.type === 'welcome') ? resolve(undefined) : setTimeout(check, 10));
      check();
    });
  }, { url, name });
  return {
    page,
    /**
     * Sends each text as a message and waits until the room has echoed them
     * all back (so they are stored); returns their ids.
     * @param {string[]} texts
     * @returns {Promise<number[]>}
     */
    say: (texts) =>
      page.evaluate(async (texts) => {
        /** @type {any} */ const w = window;
        const me = w.__frames.find((/** @type {any} */ f) => f.type === 'welcome').you;
        const echoed = () => w.__frames.filter((/** @type {any} */ f) => f.type === 'message' && f.from.id === me.id);
        const before = echoed().length;
        for (const text of texts) w.__ws.send(JSON.stringify({ type: 'say', text }));
        await new Promise((resolve, reject) => {
          const check = () => {
            const error = w.__frames.find((/** @type {any} */ f) => f.type === 'error');
            if (error) reject(new Error(`the room refused a message: ${JSON.stringify(error)}`));
            else if (echoed().length >= before + texts.length) resolve(undefined);
            else setTimeout(check, 10);
          };
          check();
        });
        return echoed().slice(before).map((/** @type {any} */ f) => f.id);
      }, texts),
    close: () => context.close(),
  };
}

/**
 * Routes the page's WebSocket to the real server through Playwright, so a
 * test can see the frames, hold back some the server sends, or add frames
 * of its own. Call before the page loads (see `openPerson`'s `beforeGoto`).
 * @param {import('playwright-core').Page} page
 */
export async function proxySocket(page) {
  /** @type {import('playwright-core').WebSocketRoute | null} */
  let current = null;
  const control = {
    /** Frames the page sent, parsed. @type {any[]} */
    sent: /** @type {any[]} */ ([]),
    /** Frames the server sent, parsed (held ones too; not those injected). @type {any[]} */
    received: /** @type {any[]} */ ([]),
    /** Server frame types held back while listed here. */
    hold: new Set(),
    /** Page frame types not passed on to the server while listed here (still in `sent`). */
    block: new Set(),
    /** @type {string[]} */
    held: /** @type {string[]} */ ([]),
    /** Sends `frame` to the page as if the server had. @param {object} frame */
    inject(frame) {
      if (!current) throw new Error('the page has no WebSocket yet');
      current.send(JSON.stringify(frame));
    },
    /** Stops holding, and delivers what was held, in order. */
    release() {
      control.hold.clear();
      for (const frame of control.held.splice(0)) current?.send(frame);
    },
  };
  await page.routeWebSocket(/\/ws$/, (ws) => {
    current = ws;
    const server = ws.connectToServer();
    ws.onMessage((frame) => {
      const parsed = typeof frame === 'string' ? JSON.parse(frame) : null;
      if (parsed) control.sent.push(parsed);
      if (!parsed || !control.block.has(parsed.type)) server.send(frame);
    });
    server.onMessage((frame) => {
      const parsed = typeof frame === 'string' ? JSON.parse(frame) : null;
      if (parsed) control.received.push(parsed);
      const type = parsed ? parsed.type : null;
      if (type && control.hold.has(type)) control.held.push(/** @type {string} */ (frame));
      else ws.send(frame);
    });
  });
  return control;
}

/**
 * Fills a room with `count` messages from two people taking turns,
 * `perTurn` messages each (so grouping shows), made by `text(i)` (i from
 * 1), and waits until all are stored. Start the server with `--rate-limit 0`
 * (and `--room-rate-limit 0` for thousands). Returns the messages' ids and
 * authors, in order.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {number} count
 * @param {(i: number) => string} text
 * @param {number} [perTurn]
 * @returns {Promise<{ids: number[], authors: string[]}>}
 */
export async function populate(browser, url, count, text, perTurn = 3) {
  const writers = [await rawClient(browser, url, 'Wren'), await rawClient(browser, url, 'Yves')];
  /** @type {number[]} */
  const ids = [];
  /** @type {string[]} */
  const authors = [];
  try {
    for (let first = 1; first <= count; first += perTurn) {
      const turn = ((first - 1) / perTurn) % 2;
      const batch = [];
      for (let i = first; i < first + perTurn && i <= count; i += 1) {
        batch.push(text(i));
        authors.push(turn === 0 ? 'Wren' : 'Yves');
      }
      ids.push(...(await writers[turn].say(batch)));
    }
  } finally {
    for (const writer of writers) await writer.close();
  }
  return { ids, authors };
}

/**
 * Many plain WebSocket clients of the room (as scripts would be: the `ws`
 * package, with the room's own Origin as a page of it would send), each
 * joined under its name. They connect in waves of `wave`, each wave once
 * the one before is welcomed, so as not to crowd the server's cap on
 * pending handshakes. Start the server with `--room-rate-limit 0` for
 * hundreds (each `hello` counts against the room's budget).
 * @param {string} url the room's address
 * @param {string[]} names
 * @param {number} [wave]
 */
export async function crowd(url, names, wave = 50) {
  /** @type {Map<string, WebSocket>} */
  const sockets = new Map();
  /** @param {string} name @returns {Promise<WebSocket>} */
  const connect = (name) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`, { origin: url });
    // Until welcomed, anything else is a failure; after, frames are ignored.
    let welcomed = false;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', name })));
    ws.on('message', (data) => {
      if (welcomed) return;
      const frame = JSON.parse(String(data));
      if (frame.type === 'welcome') {
        welcomed = true;
        resolve(ws);
      } else if (frame.type === 'error') {
        reject(new Error(`${name} was refused: ${String(data)}`));
      }
    });
    ws.on('error', (error) => { if (!welcomed) reject(error); });
    ws.on('close', (code, reason) => { if (!welcomed) reject(new Error(`${name}'s socket closed: ${code} ${reason}`)); });
  });
  try {
    for (let first = 0; first < names.length; first += wave) {
      const batch = names.slice(first, first + wave);
      const opened = await Promise.all(batch.map(connect));
      batch.forEach((name, i) => sockets.set(name, opened[i]));
    }
  } catch (error) {
    for (const ws of sockets.values()) ws.terminate();
    throw error;
  }
  return {
    /**
     * Closes these people's sockets (they leave the room).
     * @param {string[]} leaving
     */
    leave: (leaving) => {
      for (const name of leaving) {
        sockets.get(name)?.close();
        sockets.delete(name);
      }
    },
    /** Everyone left leaves. */
    close: () => {
      for (const ws of sockets.values()) ws.close();
      sockets.clear();
    },
  };
}
