// The real desktop app under Xvfb, driven through tauri-driver and
// WebKitWebDriver, chatting with a real Chromium at the room's address.
// Run with: xvfb-run -a node --test tests/desktop/
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, launchBrowser, openPerson, recordSockets, ROOT, say } from '../ui/harness.mjs';
import { createNetwork, HOST_ADDR } from '../share/network.mjs';
import { WebDriver } from './webdriver.mjs';

const APP = path.join(ROOT, 'target', 'debug', 'hearth');
const ARTIFACTS = path.join(ROOT, 'artifacts', 'desktop');
const X11_WINDOW = path.join(ROOT, 'tests', 'desktop', 'x11-window.py');
/** A one-pixel PNG, base64. */
const ONE_PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGMAAQAABQABDQottAAAAABJRU5ErkJggg==';
const TAURI_DRIVER = process.env.TAURI_DRIVER ?? path.join(homedir(), '.cargo', 'bin', 'tauri-driver');

describe('the desktop app', () => {
  /** @type {import('node:child_process').ChildProcess} */
  let driverProcess;
  const driver = new WebDriver('');
  /** @type {Awaited<ReturnType<typeof launchBrowser>>} */
  let chrome;
  const home = mkdtempSync(path.join(tmpdir(), 'hearth-desktop-home-'));
  // The app's data and logs go to a throwaway HOME.
  const appEnv = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, '.local', 'share'), RUST_LOG: 'info' };
  let driverLog = '';

  /**
   * Waits for the window to connect and join as `name` (typing it if the
   * window does not remember it).
   * @param {string} name
   */
  async function joinWindow(name) {
    await driver.until(async () => (await driver.execute('return document.getElementById("host-panel").hidden === false')), 'the host panel');
    if (await driver.execute("return document.getElementById('name-dialog').open")) {
      await driver.type('#name-input', name);
      await driver.click('#name-submit');
    }
    await driver.until(async () => (await driver.text('#status-text')) === 'Connected' && (await driver.text('#my-name')) === name, 'the window to join');
  }

  before(async () => {
    execFileSync('cargo', ['build', '--quiet', '-p', 'hearth'], { cwd: ROOT, stdio: 'inherit' });
    assert.ok(existsSync(TAURI_DRIVER), `tauri-driver at ${TAURI_DRIVER} (cargo install tauri-driver --locked)`);
    assert.ok(process.env.DISPLAY, 'a display (run under xvfb-run)');
    assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, 'a session bus (run under dbus-run-session), for the single-instance check');
    const port = await freePort();
    const nativePort = await freePort();
    driverProcess = spawn(TAURI_DRIVER, ['--port', String(port), '--native-port', String(nativePort)], {
      env: appEnv,
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
    // tauri-driver starts the app through this wrapper, which records the
    // app's exit status: the app's own process is not ours to wait for.
    const exitFile = path.join(home, 'hearth-exit-status');
    const wrapper = path.join(home, 'hearth-wrapper.sh');
    writeFileSync(wrapper, `#!/bin/sh\n"${APP}" "$@"\necho $? > "${exitFile}"\n`, { mode: 0o755 });
    // Not the default port: the policy checked below must name the port the
    // room really got, not one written into the build.
    const appPort = await freePort();
    await driver.start(wrapper, ['--addr', `127.0.0.1:${appPort}`]);
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
    assert.equal(address, `http://127.0.0.1:${appPort}`);

    // The policy the window really enforces (not the string the app builds):
    // a socket to another port is blocked, and the violation report carries
    // the whole policy.
    const port = Number(new URL(address).port);
    const violation = await driver.execute(`
      return new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (e) =>
          resolve({ directive: e.effectiveDirective, blocked: e.blockedURI, policy: e.originalPolicy }), { once: true });
        try { new WebSocket('ws://127.0.0.1:' + arguments[0] + '/ws'); } catch (error) { /* reported as a violation too */ }
        setTimeout(() => resolve(null), 5000);
      });`, [port + 1]);
    assert.ok(violation, 'a WebSocket to another port is refused by the CSP');
    assert.equal(violation.directive, 'connect-src');
    const directives = Object.fromEntries(String(violation.policy).split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name, values]));
    assert.deepEqual(directives['connect-src'], ["'self'", 'ipc:', 'http://ipc.localhost', `ws://127.0.0.1:${port}`, `http://127.0.0.1:${port}`], violation.policy);
    assert.deepEqual(directives['img-src'], ["'self'", 'data:', 'blob:', `http://127.0.0.1:${port}`], violation.policy);
    assert.deepEqual(directives['default-src'], ["'self'"], violation.policy);
    assert.deepEqual(directives['object-src'], ["'none'"], violation.policy);

    // A browser on this machine joins the same room.
    const guest = await openPerson(chrome.browser, address, null);
    await guest.page.addInitScript(recordSockets);
    await guest.page.reload();
    await guest.page.locator('#name-input').fill('Guest');
    await guest.page.locator('#name-submit').click();
    await guest.page.locator('#people li', { hasText: 'Host' }).waitFor();

    await driver.type('#composer-input', 'Hello from the window\uE007');
    await guest.page.locator('.msg', { hasText: 'Hello from the window' }).waitFor();
    await say(guest.page, 'Hello from the browser');
    await driver.until(async () => (await driver.text('#messages')).includes('Hello from the browser'), 'the reply in the window');

    // The window sends pictures too: its page is another origin
    // (tauri://localhost), so the upload needs the room's CORS answer, and
    // its policy must let the picture load from the room.
    const picture = await driver.execute(`
      const [base64, room] = arguments;
      return (async () => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const form = new FormData();
        // The room takes files only from people in it: the window's key.
        form.append('key', localStorage.getItem('hearth.key') ?? '');
        form.append('file', new Blob([bytes], { type: 'image/png' }), 'dot.png');
        const answer = await fetch(room + '/files', { method: 'POST', body: form }).then((r) => r.json());
        const width = await new Promise((resolve) => {
          const img = new Image();
          img.onload = () => resolve(img.naturalWidth);
          img.onerror = () => resolve(-1);
          img.src = room + answer.file.url;
        });
        return { type: answer.file.type, width };
      })();`, [ONE_PIXEL_PNG, address]);
    assert.deepEqual(picture, { type: 'image/png', width: 1 });

    // The host may delete anyone's message, through the window's own
    // command (no WebSocket frame can ask for that).
    const guestMessage = await driver.execute(`
      const item = [...document.querySelectorAll('.msg[data-id]')].find((m) => m.textContent.includes('Hello from the browser'));
      return item ? Number(item.dataset.id) : null;`);
    assert.ok(guestMessage, 'the guest\'s message is on screen with its id');
    const deleted = await driver.execute(
      "return window.__TAURI__.core.invoke('delete_message', { id: arguments[0] }).then(() => 'deleted', (error) => String(error));",
      [guestMessage],
    );
    assert.equal(deleted, 'deleted');
    await guest.page.locator('.msg', { hasText: 'Hello from the browser' }).waitFor({ state: 'detached' });
    await driver.until(async () => !(await driver.text('#messages')).includes('Hello from the browser'), 'the window to show it deleted');
    await driver.until(async () => (await driver.text('#host-count')) === '2', 'the host panel to count 2 people');
    // Someone else comes and goes: the count follows, both ways.
    const passerby = await openPerson(chrome.browser, address, 'Passerby');
    await driver.until(async () => (await driver.text('#host-count')) === '3', 'the host panel to count 3 people');
    await passerby.context.close();
    await driver.until(async () => (await driver.text('#host-count')) === '2', 'the host panel to count 2 again after one left');

    // The conversation is kept in the app's data folder (under the temporary
    // HOME here), and the host panel says where.
    const dataDir = path.join(home, '.local', 'share', 'app.hearth.desktop');
    assert.ok(existsSync(path.join(dataDir, 'hearth.db')), 'the database is in the data folder');
    assert.equal(await driver.text('#host-storage'), `Conversation kept in ${dataDir}`);
    // Clearing asks first, then empties every view: the window's and the browser's.
    await driver.click('#clear-history');
    await driver.until(async () => driver.execute('return document.getElementById("clear-dialog").open'), 'the confirmation');
    await driver.click('#clear-confirm');
    await guest.page.locator('.msg', { hasText: 'Hello from the browser' }).waitFor({ state: 'detached' });
    await driver.until(async () => !(await driver.text('#messages')).includes('Hello from the window'), 'the window to empty its view');

    // The host makes a room from the window (its own command, never a
    // frame a guest can send): everyone is told; then deletes it, after asking.
    await guest.page.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__roomFrames = [];
      w.__sockets.at(-1).addEventListener('message', (/** @type {MessageEvent} */ event) => {
        const frame = JSON.parse(event.data);
        if (String(frame.type).startsWith('room_')) w.__roomFrames.push(frame);
      });
    });
    await driver.type('#new-room-name', 'Track A');
    await driver.click('#new-room-create');
    await driver.until(async () => (await driver.text('#host-rooms')).includes('Track A'), 'the new room in the host panel');
    await guest.page.waitForFunction(() => /** @type {any} */ (window).__roomFrames.some((f) => f.type === 'room_added' && f.room.name === 'Track A'));
    const roomId = await guest.page.evaluate(() => /** @type {any} */ (window).__roomFrames.find((f) => f.type === 'room_added').room.id);
    await driver.click(`#host-rooms li[data-id="${roomId}"] button.danger`);
    await driver.until(async () => driver.execute('return document.getElementById("delete-room-dialog").open'), 'the delete confirmation');
    await driver.click('#delete-room-confirm');
    await guest.page.waitForFunction((id) => /** @type {any} */ (window).__roomFrames.some((f) => f.type === 'room_removed' && f.room === id), roomId);
    await driver.until(async () => !(await driver.text('#host-rooms')).includes('Track A'), 'the room gone from the host panel');

    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, 'window.png'), await driver.screenshot());

    // Launching Hearth again does not open a second room: the new process
    // hands over to the running one (which shows its window) and exits.
    const second = spawn(APP, [], { env: appEnv, stdio: 'ignore' });
    const exitCode = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        second.kill('SIGKILL');
        reject(new Error('the second launch did not exit'));
      }, 20000);
      second.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.equal(exitCode, 0);
    // The app writes its log file where the host panel's "Open logs" points.
    const logFile = path.join(home, '.local', 'share', 'app.hearth.desktop', 'logs', 'hearth.log');
    assert.ok(existsSync(logFile) && statSync(logFile).size > 0, `a log file at ${logFile}`);
    assert.equal(await driver.text('#status-text'), 'Connected');
    assert.equal(await driver.text('#host-address'), address);

    // Quitting the app (SIGTERM, as at logout; WebKitWebDriver cannot press
    // the window's close button) closes the room gracefully.
    const pid = Number(execFileSync('pgrep', ['-n', '-f', `^${APP}`], { encoding: 'utf8' }).trim());
    assert.ok(pid > 0, 'the app process');
    process.kill(pid, 'SIGTERM');
    await guest.page
      .locator('#status[data-state="closed"]', { hasText: 'The host closed the room' })
      .waitFor({ timeout: 10000 })
      .catch((error) => {
        throw new Error(`${error.message}; signalled pid ${pid}; app log:\n${driverLog.slice(-3000)}`);
      });
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
    const status = await driver.until(async () => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim(), 'the exit status', 5000);
    // 0 only if the room closed in time (a late close exits with 1).
    assert.equal(status, '0', 'the app exits with status 0 after SIGTERM');
    await driver.end();
    await guest.context.close();
  });

  it('keeps the room when its window closes with people in it, comes back on a second launch, and remembers where it was', async () => {
    const exitFile = path.join(home, 'hearth-exit-status-tray');
    const wrapper = path.join(home, 'hearth-wrapper-tray.sh');
    writeFileSync(wrapper, `#!/bin/sh\n"${APP}" "$@"\necho $? > "${exitFile}"\n`, { mode: 0o755 });
    const appArgs = ['--addr', `127.0.0.1:${await freePort()}`];
    await driver.start(wrapper, appArgs);
    await joinWindow('Host');
    const address = await driver.text('#host-address');

    // The tray is there, with its menu, and counts who is in the room.
    const trayMenu = () => driver.execute("return window.__TAURI__.core.invoke('tray_menu');");
    await driver.until(async () => (await trayMenu()).includes('1 person in the room'), 'the tray to count the host');
    assert.deepEqual(await trayMenu(), ['Open Hearth', `Copy room address (${address})`, '1 person in the room', '[ ] Share on network', '---', 'Quit Hearth (closes the room)']);

    // The host puts the window somewhere of their own.
    assert.ok(x11Window('place', '40', '50', '1000', '700'), 'the window');
    const guest = await openPerson(chrome.browser, address, null);
    await guest.page.addInitScript(recordSockets);
    await guest.page.reload();
    await guest.page.locator('#name-input').fill('Guest');
    await guest.page.locator('#name-submit').click();
    await driver.until(async () => (await trayMenu()).includes('2 people in the room'), 'the tray to count the guest');

    // Closing the window with the guest connected asks; "keep hosting" hides it.
    const closeAndAnswer = async (/** @type {string} */ answer, remember = false) => {
      x11Window('close');
      await driver.until(async () => driver.execute("return document.getElementById('close-dialog').open"), 'the question');
      assert.equal(await driver.text('#close-room'), 'Close the room for 1 person');
      if (remember) await driver.click('#close-remember');
      await driver.click(answer);
    };
    await closeAndAnswer('#close-keep');
    await driver.until(async () => x11Window('state')?.shown === false, 'the window to hide');
    // The guest stays: no close, and the room still answers.
    await say(guest.page, 'Still here');
    await guest.page.locator('.msg', { hasText: 'Still here' }).waitFor();
    assert.deepEqual(await guest.page.evaluate(() => /** @type {any} */ (window).__closeCodes), []);

    // Launching Hearth again brings the hidden window back.
    const launchAgain = async () => {
      const second = spawn(APP, [], { env: appEnv, stdio: 'ignore' });
      const code = await new Promise((resolve) => second.once('exit', resolve));
      assert.equal(code, 0, 'the second launch hands over and exits');
      await driver.until(async () => x11Window('state')?.shown === true, 'the window to come back');
    };
    await launchAgain();

    // "Don't ask again": the next close hides at once.
    await closeAndAnswer('#close-keep', true);
    await driver.until(async () => x11Window('state')?.shown === false, 'the window to hide');
    await launchAgain();
    x11Window('close');
    await driver.until(async () => x11Window('state')?.shown === false, 'the window to hide without asking');
    assert.equal(await driver.execute("return document.getElementById('close-dialog').open"), false);
    await launchAgain();
    assert.equal(await driver.execute("return document.getElementById('when-closed').value"), 'keep_hosting');

    // The host panel changes it back; then "close the room" closes it for the guest (1001).
    await driver.execute("const s = document.getElementById('when-closed'); s.value = 'ask'; s.dispatchEvent(new Event('change'));");
    await driver.until(async () => (await driver.execute("return window.__TAURI__.core.invoke('when_closed')")) === 'ask', 'the setting to be saved');
    await closeAndAnswer('#close-room');
    await guest.page.locator('#status[data-state="closed"]', { hasText: 'The host closed the room' }).waitFor({ timeout: 10000 });
    assert.equal((await guest.page.evaluate(() => /** @type {any} */ (window).__closeCodes))[0], 1001);
    const status = await driver.until(async () => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim(), 'the app to exit', 10000);
    assert.equal(status, '0');
    await driver.end();
    await guest.context.close();

    // The next launch opens the window where and as large as the host left it.
    rmSync(exitFile);
    await driver.start(wrapper, appArgs);
    await joinWindow('Host');
    const placed = x11Window('state');
    assert.deepEqual(placed && { x: placed.x, y: placed.y, width: placed.width, height: placed.height }, { x: 40, y: 50, width: 1000, height: 700 });
    const pid = Number(execFileSync('pgrep', ['-n', '-f', `^${APP}`], { encoding: 'utf8' }).trim());
    process.kill(pid, 'SIGTERM');
    await driver.until(async () => existsSync(exitFile), 'the app to exit', 10000);
    await driver.end();
  });

  it('a second launch, with no flags or the same --addr, brings back the window hidden to the tray', async () => {
    // The way a person does it: the same command twice. Both ask for the
    // default address, so the second finds the port taken and the
    // conversation open, and must hand over rather than fail.
    const exitFile = path.join(home, 'hearth-exit-status-again');
    const wrapper = path.join(home, 'hearth-wrapper-again.sh');
    writeFileSync(wrapper, `#!/bin/sh\n"${APP}" "$@"\necho $? > "${exitFile}"\n`, { mode: 0o755 });
    await driver.start(wrapper, []);
    await joinWindow('Host');
    const address = await driver.text('#host-address');
    const guest = await openPerson(chrome.browser, address, 'Guest');
    await driver.until(async () => (await driver.text('#host-count')) === '2', 'the guest in the room');
    await driver.execute("return window.__TAURI__.core.invoke('set_when_closed', { whenClosed: 'keep_hosting' });");
    const hide = async () => {
      x11Window('close');
      await driver.until(async () => x11Window('state')?.shown === false, 'the window to hide to the tray');
    };
    /** @param {string[]} args */
    const launchAgain = async (args) => {
      let output = '';
      const second = spawn(APP, args, { env: appEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      second.stdout?.on('data', (chunk) => { output += chunk; });
      second.stderr?.on('data', (chunk) => { output += chunk; });
      const code = await new Promise((resolve) => second.once('exit', resolve));
      assert.equal(code, 0, `the launch with [${args.join(' ')}] hands over and exits: ${output.slice(-2000)}`);
      await driver.until(async () => x11Window('state')?.shown === true, `the window to come back after [${args.join(' ')}]`);
    };
    await hide();
    await launchAgain([]);
    await hide();
    await launchAgain(['--addr', new URL(address).host]);
    assert.equal(await driver.text('#host-address'), address, 'still the one room');
    await driver.execute("return window.__TAURI__.core.invoke('set_when_closed', { whenClosed: 'ask' });");
    const pid = Number(execFileSync('pgrep', ['-n', '-f', `^${APP}`], { encoding: 'utf8' }).trim());
    process.kill(pid, 'SIGTERM');
    const status = await driver.until(async () => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim(), 'the app to exit', 10000);
    assert.equal(status, '0');
    await driver.end();
    await guest.context.close();
  });

  it('shares the room when the host says so: the switch, the invite and its QR code, who is where, and Remove', async (t) => {
    const exitFile = path.join(home, 'hearth-exit-status-share');
    const wrapper = path.join(home, 'hearth-wrapper-share.sh');
    writeFileSync(wrapper, `#!/bin/sh\n"${APP}" "$@"\necho $? > "${exitFile}"\n`, { mode: 0o755 });
    // The network address is the host side of the sharing test's veth pair
    // (198.18.0.1, from the benchmarking range; see tests/share/network.mjs),
    // removed when the test ends.
    const network = createNetwork();
    t.after(() => network.remove());
    const appArgs = ['--addr', `127.0.0.1:${await freePort()}`, '--share-addr', HOST_ADDR];
    const trayMenu = () => driver.execute("return window.__TAURI__.core.invoke('tray_menu');");
    const qrShown = () => driver.execute("const img = document.getElementById('share-qr'); return !img.hidden && img.complete && img.naturalWidth > 0;");
    const quit = async () => {
      const pid = Number(execFileSync('pgrep', ['-n', '-f', `^${APP}`], { encoding: 'utf8' }).trim());
      process.kill(pid, 'SIGTERM');
      await driver.until(async () => existsSync(exitFile), 'the app to exit', 10000);
      rmSync(exitFile);
      await driver.end();
    };

    await driver.start(wrapper, appArgs);
    await joinWindow('Host');
    assert.equal(await driver.execute("return document.getElementById('share-toggle').checked"), false, 'off until the host turns it on');
    assert.equal(await driver.execute("return document.getElementById('share-on').hidden"), true);
    assert.ok((await trayMenu()).includes('[ ] Share on network'));

    // The switch: the network address, the invite link and its QR code.
    await driver.click('#share-toggle');
    await driver.until(qrShown, 'the QR code');
    const firstLink = await driver.text('#share-link');
    assert.match(firstLink, /^http:\/\/198\.18\.0\.1:\d+\/join\/[0-9a-f]{32}$/);
    assert.ok((await driver.text('#share-warning')).includes('unencrypted'));
    await driver.until(async () => (await trayMenu()).includes('[x] Share on network'), 'the tray to show sharing');

    // Remembered: the next launch shares again, with a new link.
    await quit();
    await driver.start(wrapper, appArgs);
    await joinWindow('Host');
    await driver.until(qrShown, 'the QR code after a restart');
    assert.equal(await driver.execute("return document.getElementById('share-toggle').checked"), true);
    const link = await driver.text('#share-link');
    assert.notEqual(link, firstLink, 'each launch makes a new link');
    await driver.execute("document.getElementById('share-section').scrollIntoView();");
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, 'share-panel.png'), await driver.screenshot());

    // A browser at the shared address: nothing without the invite, the room with it.
    const shared = new URL(link).origin;
    const refused = await fetch(`${shared}/`);
    assert.equal(refused.status, 401);
    const guest = await openPerson(chrome.browser, link, null, { beforeGoto: (page) => page.addInitScript(recordSockets) });
    await guest.page.waitForURL(`${shared}/`);
    await guest.page.locator('#name-input').fill('Visitor');
    await guest.page.locator('#name-submit').click();
    await guest.page.locator('#status[data-state="connected"]').waitFor();

    // The window lists them, from where, and removes them.
    const visitorRow = "return [...document.querySelectorAll('#host-people li')].find((li) => li.textContent.includes('Visitor'))?.textContent ?? ''";
    await driver.until(async () => (await driver.execute(visitorRow)).includes(HOST_ADDR), 'the visitor, with their address, in the people list');
    assert.match(await driver.execute("return [...document.querySelectorAll('#host-people li')].find((li) => li.textContent.includes('Host'))?.textContent ?? ''"), /this computer/);
    await driver.click('button[aria-label="Remove Visitor"]');
    await driver.until(async () => driver.execute("return document.getElementById('remove-dialog').open"), 'the confirmation');
    await driver.click('#remove-confirm');
    await driver.until(async () => (await guest.page.evaluate(() => /** @type {any} */ (window).__closeCodes)).includes(1008), 'the visitor to be closed with 1008');
    await guest.page.locator('#status-text', { hasText: 'The host removed you from the room' }).waitFor();
    await driver.until(async () => !(await driver.execute(visitorRow)), 'the visitor to leave the list');
    // Neither the invite's secret nor the guest's pass is in the app's log file.
    const pass = (await guest.context.cookies()).find((cookie) => cookie.name === 'hearth_pass')?.value;
    assert.match(pass ?? '', /^[0-9a-f]{32}$/, 'the guest holds a pass');
    const logFile = path.join(appEnv.XDG_DATA_HOME, 'app.hearth.desktop', 'logs', 'hearth.log');
    const logged = readFileSync(logFile, 'utf8');
    assert.match(logged, /sharing the room with the network/, 'the log is the one this app writes');
    for (const secret of [new URL(link).pathname.split('/').pop() ?? '', new URL(firstLink).pathname.split('/').pop() ?? '', pass ?? '']) {
      assert.ok(secret.length === 32 && !logged.includes(secret), 'no secret in the log file');
    }
    // Their pass is gone: the page's way back is refused.
    assert.equal((await guest.page.evaluate(async () => (await fetch('/')).status)), 403);
    await guest.context.close();

    // Stop sharing: the address stops answering, the switch and the tray say so.
    await driver.click('#share-stop');
    await driver.until(async () => driver.execute("return document.getElementById('share-on').hidden && !document.getElementById('share-toggle').checked"), 'sharing to stop');
    await driver.until(async () => (await trayMenu()).includes('[ ] Share on network'), 'the tray to show sharing off');
    await assert.rejects(fetch(`${shared}/`), 'nothing answers at the shared address');
    await quit();
  });
});

/**
 * Does to the app's window what a window manager would (see x11-window.py).
 * @param {...string} command close, state, or place X Y WIDTH HEIGHT
 * @returns {{shown: boolean, x: number, y: number, width: number, height: number} | null}
 */
function x11Window(...command) {
  try {
    return JSON.parse(execFileSync('/usr/bin/python3', [X11_WINDOW, ...command], { encoding: 'utf8' }));
  } catch {
    return null;
  }
}
