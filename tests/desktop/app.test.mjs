// The real desktop app under Xvfb, driven through tauri-driver and
// WebKitWebDriver, chatting with a real Chromium at the room's address.
// Run with: xvfb-run -a node --test tests/desktop/
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, openPerson, ROOT, say } from '../ui/harness.mjs';
import { WebDriver } from './webdriver.mjs';

const APP = path.join(ROOT, 'target', 'debug', 'hearth');
const ARTIFACTS = path.join(ROOT, 'artifacts', 'desktop');
const TAURI_DRIVER = process.env.TAURI_DRIVER ?? path.join(homedir(), '.cargo', 'bin', 'tauri-driver');

/** @returns {Promise<number>} a free loopback port */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Records the page's WebSockets and how they closed. */
function recordCloses() {
  const Native = window.WebSocket;
  /** @type {number[]} */
  const codes = [];
  /** @type {any} */ (window).__closeCodes = codes;
  window.WebSocket = class extends Native {
    /** @param {string | URL} url @param {string | string[]} [protocols] */
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('close', (event) => codes.push(event.code));
    }
  };
}

describe('the desktop app', () => {
  /** @type {import('node:child_process').ChildProcess} */
  let driverProcess;
  const driver = new WebDriver('');
  /** @type {Awaited<ReturnType<typeof launchBrowser>>} */
  let chrome;
  const home = mkdtempSync(path.join(tmpdir(), 'hearth-desktop-home-'));
  let driverLog = '';

  before(async () => {
    execFileSync('cargo', ['build', '--quiet', '-p', 'hearth'], { cwd: ROOT, stdio: 'inherit' });
    assert.ok(existsSync(TAURI_DRIVER), `tauri-driver at ${TAURI_DRIVER} (cargo install tauri-driver --locked)`);
    assert.ok(process.env.DISPLAY, 'a display (run under xvfb-run)');
    const port = await freePort();
    const nativePort = await freePort();
    // The app's data and logs go to a throwaway HOME.
    driverProcess = spawn(TAURI_DRIVER, ['--port', String(port), '--native-port', String(nativePort)], {
      env: { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, '.local', 'share'), RUST_LOG: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    driverProcess.stdout?.on('data', (chunk) => { driverLog += chunk; });
    driverProcess.stderr?.on('data', (chunk) => { driverLog += chunk; });
    driver.base = `http://127.0.0.1:${port}`;
    await driver.until(async () => (await fetch(`${driver.base}/status`).catch(() => null))?.ok, 'tauri-driver to listen');
    chrome = await launchBrowser();
  });

  after(async () => {
    await driver.end();
    await chrome?.close();
    driverProcess?.kill('SIGTERM');
    rmSync(home, { recursive: true, force: true });
  });

  it('hosts the room: the window and a browser chat both ways, and quitting closes the room with 1001', async () => {
    await driver.start(APP);
    // The window connects to the room it hosts and asks for a name.
    await driver.until(async () => (await driver.execute('return document.getElementById("host-panel").hidden === false')), 'the host panel');
    await driver.type('#name-input', 'Host');
    await driver.click('#name-submit');
    await driver
      .until(async () => (await driver.text('#status-text')) === 'Connected' && (await driver.text('#my-name')) === 'Host', 'the window to join')
      .catch(async (error) => {
        mkdirSync(ARTIFACTS, { recursive: true });
        writeFileSync(path.join(ARTIFACTS, 'failed-join.png'), await driver.screenshot());
        const status = JSON.stringify([await driver.text('#status-text').catch((e) => e.message), await driver.text('#my-name').catch((e) => e.message)]);
        throw new Error(`${error.message}; status: ${status}; app log:\n${driverLog.slice(-3000)}`);
      });
    const address = await driver.text('#host-address');
    assert.match(address, /^http:\/\/127\.0\.0\.1:\d+$/);

    // A browser on this machine joins the same room.
    const guest = await openPerson(chrome.browser, address, null);
    await guest.page.addInitScript(recordCloses);
    await guest.page.reload();
    await guest.page.locator('#name-input').fill('Guest');
    await guest.page.locator('#name-submit').click();
    await guest.page.locator('#people li', { hasText: 'Host' }).waitFor();

    await driver.type('#composer-input', 'Hello from the window\uE007');
    await guest.page.locator('.msg', { hasText: 'Hello from the window' }).waitFor();
    await say(guest.page, 'Hello from the browser');
    await driver.until(async () => (await driver.text('#messages')).includes('Hello from the browser'), 'the reply in the window');
    await driver.until(async () => (await driver.text('#host-count')) === '2', 'the host panel to count 2 people');

    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, 'window.png'), await driver.screenshot());

    // Quitting the app (SIGTERM, as at logout; WebKitWebDriver cannot press
    // the window's close button) closes the room gracefully.
    const pid = Number(execFileSync('pgrep', ['-n', '-f', `^${APP}`], { encoding: 'utf8' }).trim());
    assert.ok(pid > 0, 'the app process');
    process.kill(pid, 'SIGTERM');
    await guest.page.locator('#status[data-state="closed"]', { hasText: 'The host closed the room' }).waitFor({ timeout: 10000 });
    const codes = await guest.page.evaluate(() => /** @type {any} */ (window).__closeCodes);
    assert.equal(codes[0], 1001, `close codes seen by the browser: ${codes}`);
    // And the app exits.
    await driver.until(async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the app to exit', 5000);
    driver.session = null;
    await guest.context.close();
  });
});
