// Test harness: the real headless server on a free loopback port, and real
// Chromium (Debian's) driven by playwright-core. Nothing is downloaded.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.join(ROOT, 'artifacts', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SERVER_BIN = path.join(ROOT, 'target', 'debug', process.platform === 'win32' ? 'hearth-server.exe' : 'hearth-server');

let built = false;

/** Builds the headless server once per test process. */
function buildServer() {
  if (built) return;
  execFileSync('cargo', ['build', '--quiet', '-p', 'hearth-server'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

/**
 * Starts `hearth-server` on 127.0.0.1 (port 0 = a free one).
 * @param {{port?: number, args?: string[]}} [options]
 */
export async function startServer(options = {}) {
  buildServer();
  const args = ['--addr', `127.0.0.1:${options.port ?? 0}`, '--print-address', ...(options.args ?? [])];
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
  return {
    url,
    port,
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
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the room in a fresh context (its own localStorage: one person) and
 * joins as `name` unless `name` is null.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {string | null} name
 * @param {{width?: number, height?: number, colorScheme?: 'light' | 'dark'}} [view]
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
 * An init script (for `addInitScript`, with the room's URL) that makes the
 * page believe it runs in the desktop window: a stand-in for Tauri's bridge
 * that answers the app's commands and records the notifications it would
 * send in `window.__sent`. The window counts as in the background.
 * @param {string} url
 */
export function fakeDesktopBridge(url) {
  /** @type {any} */ const w = window;
  w.__sent = [];
  w.__TAURI__ = {
    core: { invoke: async (/** @type {string} */ cmd) => (cmd === 'room_info' ? { url, note: null } : { connections: 1, users: [] }) },
    event: { listen: async () => () => {} },
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
