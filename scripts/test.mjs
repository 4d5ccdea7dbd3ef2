// `npm test`: everything CI checks, in order, with a timing summary.
//   npm test                      all steps
//   npm test -- --only ui,desktop just those steps
//   npm test -- --skip package    all but those
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { commandExists, ensureNodeModules, ensureSystem, isDebianLike, ROOT, run } from './system.mjs';

const TAURI_DRIVER = path.join(homedir(), '.cargo', 'bin', 'tauri-driver');
const RELEASE = path.join(ROOT, 'target', 'release');

/** @type {{name: string, what: string, run: () => void | Promise<void>}[]} */
const steps = [
  {
    name: 'setup',
    what: 'system packages, npm packages, tauri-driver',
    run: () => {
      ensureSystem({ test: true });
      ensureNodeModules();
      if (!existsSync(TAURI_DRIVER) && !commandExists('tauri-driver')) {
        run(['cargo', 'install', 'tauri-driver', '--locked']);
      }
    },
  },
  { name: 'fmt', what: 'cargo fmt --check', run: () => run(['cargo', 'fmt', '--all', '--', '--check']) },
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
    name: 'desktop',
    what: 'the app window under Xvfb (tauri-driver)',
    run: () => run(['dbus-run-session', '--', 'xvfb-run', '-a', '--server-args=-screen 0 1280x800x24', 'node', '--test', 'tests/desktop/']),
  },
  {
    name: 'bench',
    what: 'short benchmark and soak (release build)',
    run: () => {
      run(['cargo', 'build', '--release', '-p', 'hearth-server', '--bin', 'hearth-server', '--example', 'loadgen', '--example', 'soak']);
      const server = path.join(RELEASE, 'hearth-server');
      run([path.join(RELEASE, 'examples', 'loadgen'), '--server-bin', server, '--clients', '200', '--rounds', '100',
        '--senders', '10', '--messages', '500', '--size', '1024', '--non-readers', '3', '--fail-on-loss']);
      run([path.join(RELEASE, 'examples', 'soak'), '--server-bin', server, '--duration-secs', '40']);
    },
  },
  { name: 'package', what: 'build the .deb and .rpm, install, run headless', run: packageCheck },
];

/** Builds the installers and proves the .deb works once installed. */
async function packageCheck() {
  run(['npx', 'tauri', 'build', '--bundles', 'deb,rpm']);
  const debDir = path.join(RELEASE, 'bundle', 'deb');
  const deb = readdirSync(debDir).filter((f) => f.endsWith('.deb')).map((f) => path.join(debDir, f))[0];
  if (!deb) throw new Error(`no .deb in ${debDir}`);
  const rpmDir = path.join(RELEASE, 'bundle', 'rpm');
  if (!existsSync(rpmDir) || !readdirSync(rpmDir).some((f) => f.endsWith('.rpm'))) throw new Error(`no .rpm in ${rpmDir}`);

  const listing = capture(['dpkg-deb', '-c', deb]);
  for (const wanted of [/ (\.\/)?usr\/bin\/hearth$/m, / (\.\/)?usr\/share\/applications\/Hearth\.desktop$/m, / (\.\/)?usr\/share\/icons\/hicolor\/\d+x\d+\/apps\/hearth\.png$/m]) {
    if (!wanted.test(listing)) throw new Error(`${path.basename(deb)} lacks ${wanted}:\n${listing}`);
  }
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

/** Runs `hearth --headless` on a free port and fetches the page it serves. @param {string} binary */
function servesThePage(binary) {
  return new Promise((resolve, reject) => {
    const app = spawn(binary, ['--headless', '--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => {
      app.kill('SIGKILL');
      reject(new Error(`hearth --headless did not serve in time:\n${log}`));
    }, 20000);
    const onData = async (/** @type {Buffer} */ chunk) => {
      log += chunk;
      const match = log.match(/join the room at (http:\/\/127\.0\.0\.1:\d+)/);
      if (!match) return;
      app.stderr.off('data', onData);
      try {
        const page = await (await fetch(match[1])).text();
        if (!page.includes('<title>Hearth</title>')) throw new Error('the page is not Hearth');
        console.log(`installed hearth --headless served ${match[1]}`);
        app.once('exit', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
        app.kill('SIGTERM');
      } catch (error) {
        clearTimeout(timer);
        app.kill('SIGKILL');
        reject(error);
      }
    };
    app.stderr.on('data', onData);
    app.stdout.on('data', (chunk) => { log += chunk; });
  });
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
const passed = timings.filter((t) => t.ok).length;
console.log(`\nsteps: ${passed} passed, ${timings.length - passed} failed`);
if (failed) {
  console.error(`\nnpm test failed at ${failed}`);
  process.exit(1);
}
