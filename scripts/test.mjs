// `npm test`: everything CI checks, in order, with a timing summary.
//   npm test                      all steps
//   npm test -- --only ui,desktop just those steps
//   npm test -- --skip package    all but those
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { commandExists, ensureNodeModules, ensureSystem, isDebianLike, ROOT, run } from './system.mjs';

const TAURI_DRIVER = path.join(homedir(), '.cargo', 'bin', 'tauri-driver');
const RELEASE = path.join(ROOT, 'target', 'release');
const DEBUG = path.join(ROOT, 'target', 'debug');
/** A full run needs about this much free disk (debug and release builds, packages). */
const DISK_NEEDED_GIB = 8;

// CI builds each thing once: incremental caches would only take disk.
if (process.env.CI && process.env.CARGO_INCREMENTAL === undefined) process.env.CARGO_INCREMENTAL = '0';

/** Free space on the disk that holds target/, in GiB. */
function freeDiskGib() {
  const stats = statfsSync(ROOT);
  return (stats.bavail * stats.bsize) / 2 ** 30;
}

/**
 * On CI, the debug build is done with once the desktop tests have run: remove
 * it so the release builds have the disk (a developer's own target/ stays).
 */
function freeDebugBuildOnCi() {
  if (!process.env.CI || !existsSync(DEBUG)) return;
  rmSync(DEBUG, { recursive: true, force: true });
  console.log(`CI: removed target/debug, ${freeDiskGib().toFixed(1)} GiB free`);
}

/** @type {{name: string, what: string, run: () => void | Promise<void>}[]} */
const steps = [
  {
    name: 'setup',
    what: 'system packages, npm packages, tauri-driver',
    run: () => {
      const free = freeDiskGib();
      console.log(`${free.toFixed(1)} GiB free on the disk that holds target/`);
      if (free < DISK_NEEDED_GIB) console.warn(`warning: a full run needs about ${DISK_NEEDED_GIB} GiB free; builds may fail with "No space left" or a linker's bus error`);
      ensureSystem({ test: true });
      ensureNodeModules();
      if (!existsSync(TAURI_DRIVER) && !commandExists('tauri-driver')) {
        run(['cargo', 'install', 'tauri-driver', '--locked']);
      }
    },
  },
  { name: 'fmt', what: 'cargo fmt --check', run: () => run(['cargo', 'fmt', '--all', '--', '--check']) },
  { name: 'shape', what: 'no import circle, no file over 500 lines, no function over 100', run: () => run(['node', 'scripts/shape.mjs']) },
  {
    name: 'clippy',
    what: 'cargo clippy -D warnings',
    run: () => run(['cargo', 'clippy', '--workspace', '--all-targets', '--', '-D', 'warnings']),
  },
  { name: 'tsc', what: 'type-check the UI', run: () => run(['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json']) },
  { name: 'cargo-test', what: 'Rust unit and integration tests', run: () => run(['cargo', 'test', '--workspace']) },
  {
    name: 'ui',
    what: 'browser tests (Chromium)',
    run: () => run(['node', '--test', '--test-concurrency=1', 'tests/ui/']),
  },
  {
    name: 'share',
    what: 'sharing with a second host (a network namespace; needs root)',
    run: () => run(['node', '--test', '--test-concurrency=1', 'tests/share/']),
  },
  {
    name: 'desktop',
    what: 'the app window under Xvfb (tauri-driver)',
    run: () => run(['dbus-run-session', '--', 'xvfb-run', '-a', '--server-args=-screen 0 1280x800x24', 'node', '--test', 'tests/desktop/']),
  },
  {
    name: 'bench',
    what: 'short benchmark, storage benchmark and soak (release build)',
    run: () => {
      freeDebugBuildOnCi();
      run(['cargo', 'build', '--release', '-p', 'hearth-server', '--bin', 'hearth-server', '-p', 'hearth-load', '--bin', 'loadgen', '--bin', 'soak', '--bin', 'storebench', '--bin', 'welcomesize']);
      const server = path.join(RELEASE, 'hearth-server');
      run([path.join(RELEASE, 'loadgen'), '--server-bin', server, '--clients', '200', '--rounds', '100',
        '--senders', '10', '--messages', '500', '--size', '1024', '--non-readers', '3', '--fail-on-loss',
        // A 1 MiB send budget against a 5 MB burst: every non-reader must be dropped.
        '--server-arg=--send-queue-bytes=1048576']);
      // A crowd joining at once: paged welcomes and batched presence; every
      // client's count of the room, and the whole list paged out, must be exact.
      run([path.join(RELEASE, 'loadgen'), '--server-bin', server, '--clients', '3000', '--hold-only',
        '--timeout-secs', '120', '--fail-on-loss', '--check-people']);
      // Ten rooms of 50 in a house of 500, each busy at once: a message
      // reaches its room's members only, every one of them.
      run([path.join(RELEASE, 'loadgen'), '--server-bin', server, '--clients', '500', '--rooms', '10',
        '--rounds', '0', '--senders', '10', '--messages', '300', '--fail-on-loss']);
      run([path.join(RELEASE, 'welcomesize'), '--server-bin', server, '--rooms', '20', '--directs', '50']);
      run([path.join(RELEASE, 'soak'), '--server-bin', server, '--duration-secs', '40']);
      // A tenth of the documented million: the same queries, in seconds.
      run([path.join(RELEASE, 'storebench'), '--server-bin', server, '--messages', '100000']);
    },
  },
  { name: 'package', what: 'build the .deb and .rpm, install, run headless', run: packageCheck },
  {
    name: 'footprint',
    what: 'the desktop app\'s memory and launch time (release build, under Xvfb)',
    run: () => run(['dbus-run-session', '--', 'xvfb-run', '-a', '--server-args=-screen 0 1280x800x24', 'node', 'scripts/footprint.mjs',
      '--app', path.join(RELEASE, 'hearth')]),
  },
];

/** Files every installer must put in place. */
const PACKAGED_FILES = [/^\/usr\/bin\/hearth$/, /^\/usr\/share\/applications\/Hearth\.desktop$/, /^\/usr\/share\/icons\/hicolor\/\d+x\d+\/apps\/hearth\.png$/];

/**
 * The files (not directories) a package listing names, as absolute paths, sorted.
 * @param {string[]} entries
 */
function installedPaths(entries) {
  return entries
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.endsWith('/'))
    // dpkg-deb names `usr/bin/hearth` or `./usr/bin/hearth`, rpm `/usr/bin/hearth`.
    .map((entry) => `/${entry.replace(/^\.?\//, '')}`)
    .sort();
}

/** Builds the installers and proves the .deb works once installed. */
async function packageCheck() {
  run(['npx', 'tauri', 'build', '--bundles', 'deb,rpm']);
  const debDir = path.join(RELEASE, 'bundle', 'deb');
  const deb = readdirSync(debDir).filter((f) => f.endsWith('.deb')).map((f) => path.join(debDir, f))[0];
  if (!deb) throw new Error(`no .deb in ${debDir}`);
  const rpmDir = path.join(RELEASE, 'bundle', 'rpm');
  const rpm = existsSync(rpmDir) ? readdirSync(rpmDir).filter((f) => f.endsWith('.rpm')).map((f) => path.join(rpmDir, f))[0] : undefined;
  if (!rpm) throw new Error(`no .rpm in ${rpmDir}`);

  // Both packages carry the same files: the binary, the launcher, the icons.
  const debFiles = installedPaths(capture(['dpkg-deb', '-c', deb]).split('\n').filter((line) => line.startsWith('-')).map((line) => line.split(/\s+/).at(-1) ?? ''));
  const rpmFiles = installedPaths(capture(['rpm', '-qlp', rpm]).split('\n'));
  for (const [name, files] of [[path.basename(deb), debFiles], [path.basename(rpm), rpmFiles]]) {
    for (const wanted of PACKAGED_FILES) {
      if (!files.some((f) => wanted.test(f))) throw new Error(`${name} lacks ${wanted}:\n${files.join('\n')}`);
    }
  }
  if (debFiles.join('\n') !== rpmFiles.join('\n')) {
    throw new Error(`the .deb and .rpm install different files:\n.deb: ${debFiles.join(' ')}\n.rpm: ${rpmFiles.join(' ')}`);
  }
  console.log(`both packages install: ${debFiles.join(' ')}`);
  console.log(capture(['dpkg-deb', '-f', deb, 'Package', 'Version', 'Depends']));

  const root = process.getuid?.() === 0;
  let binary;
  let extracted;
  if (root && isDebianLike()) {
    run(['dpkg', '-i', deb]);
    binary = '/usr/bin/hearth';
  } else {
    // Installing needs root; unpacking the same files proves the same binary.
    extracted = mkdtempSync(path.join(tmpdir(), 'hearth-deb-'));
    run(['dpkg-deb', '-x', deb, extracted]);
    binary = path.join(extracted, 'usr', 'bin', 'hearth');
  }
  try {
    await servesThePage(binary);
  } finally {
    if (extracted) rmSync(extracted, { recursive: true, force: true });
    else run(['dpkg', '-r', capture(['dpkg-deb', '-f', deb, 'Package']).trim()]);
  }
}

/**
 * Runs `hearth --headless` on a free port, fetches the page it serves and
 * every script and stylesheet the page names, then stops it with SIGTERM and
 * expects a clean exit (status 0).
 * @param {string} binary
 */
function servesThePage(binary) {
  return new Promise((resolve, reject) => {
    const app = spawn(binary, ['--headless', '--ephemeral', '--addr', '127.0.0.1:0', '--print-address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let out = '';
    let checked = false;
    const timer = setTimeout(() => {
      app.kill('SIGKILL');
      reject(new Error(`hearth --headless did not serve and stop in time:\n${log}`));
    }, 30000);
    app.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!checked) reject(new Error(`hearth --headless exited early with ${code ?? signal}:\n${log}`));
      else if (code !== 0) reject(new Error(`hearth --headless exited with ${code ?? signal} after SIGTERM:\n${log}`));
      else {
        console.log('installed hearth --headless exited 0 after SIGTERM');
        resolve(undefined);
      }
    });
    app.stderr.on('data', (chunk) => { log += chunk; });
    // `--print-address` prints the room's URL alone on the first line of stdout.
    const onData = async (/** @type {Buffer} */ chunk) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline === -1) return;
      app.stdout.off('data', onData);
      const url = out.slice(0, newline).trim();
      try {
        await pageAndAssetsLoad(url);
        console.log(`installed hearth --headless served ${url} with its scripts and styles`);
        checked = true;
        app.kill('SIGTERM');
      } catch (error) {
        app.kill('SIGKILL');
        reject(error);
      }
    };
    app.stdout.on('data', onData);
  });
}

/**
 * Fetches the page at `url` and each script and stylesheet it links; throws
 * unless every one answers 200 with the expected content type.
 * @param {string} url
 */
async function pageAndAssetsLoad(url) {
  const page = await fetch(url);
  const html = await page.text();
  if (page.status !== 200 || !html.includes('<title>Hearth</title>')) throw new Error(`the page at ${url} is not Hearth (${page.status})`);
  const scripts = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]);
  const styles = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]);
  if (scripts.length === 0 || styles.length === 0) throw new Error(`the page names no scripts or no styles:\n${html}`);
  // Modules import further modules: follow their static imports too.
  const seen = new Set();
  /** @type {[string, RegExp][]} */
  const queue = [...scripts.map((s) => /** @type {[string, RegExp]} */ ([s, /javascript/])), ...styles.map((s) => /** @type {[string, RegExp]} */ ([s, /text\/css/]))];
  while (queue.length > 0) {
    const [ref, type] = /** @type {[string, RegExp]} */ (queue.shift());
    const target = new URL(ref, `${url}/`).href;
    if (seen.has(target)) continue;
    seen.add(target);
    const response = await fetch(target);
    const body = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    if (response.status !== 200 || !type.test(contentType)) throw new Error(`${target}: ${response.status} ${contentType}`);
    if (/javascript/.test(contentType)) {
      for (const m of body.matchAll(/^import[^'"]*['"](\.\/[^'"]+)['"]/gm)) queue.push([new URL(m[1], target).href, /javascript/]);
    }
  }
  console.log(`loaded ${seen.size} scripts and styles`);
}

/** @param {string[]} argv */
function capture(argv) {
  const result = spawnSync(argv[0], argv.slice(1), { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** @param {string} flag */
function listArg(flag) {
  const index = process.argv.indexOf(flag);
  return index === -1 ? null : new Set(process.argv[index + 1]?.split(',') ?? []);
}

const only = listArg('--only');
const skip = listArg('--skip') ?? new Set();
const known = new Set(steps.map((step) => step.name));
const unknown = [...(only ?? []), ...skip].filter((name) => !known.has(name));
if (unknown.length > 0 || (only && only.size === 0)) {
  console.error(`unknown step${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ') || '(none given)'}; the steps are ${[...known].join(', ')}`);
  process.exit(2);
}
const chosen = steps.filter((step) => (only ? only.has(step.name) : true) && !skip.has(step.name));
/** @type {{name: string, seconds: number, ok: boolean}[]} */
const timings = [];
let failed = null;
const started = Date.now();
for (const step of chosen) {
  console.log(`\n==> ${step.name}: ${step.what}`);
  const t0 = Date.now();
  try {
    await step.run();
    timings.push({ name: step.name, seconds: (Date.now() - t0) / 1000, ok: true });
  } catch (error) {
    timings.push({ name: step.name, seconds: (Date.now() - t0) / 1000, ok: false });
    failed = `${step.name}: ${error instanceof Error ? error.message : error}`;
    break;
  }
}
console.log('\nstep           seconds  result');
for (const t of timings) console.log(`${t.name.padEnd(14)} ${t.seconds.toFixed(1).padStart(7)}  ${t.ok ? 'ok' : 'FAILED'}`);
console.log(`${'total'.padEnd(14)} ${((Date.now() - started) / 1000).toFixed(1).padStart(7)}`);
console.log(`disk free at the end: ${freeDiskGib().toFixed(1)} GiB`);
const passed = timings.filter((t) => t.ok).length;
console.log(`\nsteps: ${passed} passed, ${timings.length - passed} failed`);
if (failed) {
  console.error(`\nnpm test failed at ${failed}`);
  process.exit(1);
}
