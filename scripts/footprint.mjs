// The desktop app's footprint: how long from launch until its window is
// connected to the room, and how much memory the app and its WebKit
// processes hold once idle with the room open (resident and proportional
// set size, summed over the process tree, from /proc/PID/smaps_rollup).
// Run under a display, e.g.:
//   dbus-run-session -- xvfb-run -a node scripts/footprint.mjs [--app target/release/hearth]
//     [--idle-secs 5] [--runs 3] [--env NAME=VALUE ...]
// It uses a throwaway HOME and an ephemeral room: no real data is touched.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, ROOT } from './system.mjs';

const { values } = parseArgs({
  options: {
    app: { type: 'string', default: path.join(ROOT, 'target', 'release', 'hearth') },
    'idle-secs': { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    env: { type: 'string', multiple: true, default: [] },
  },
});

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Every process descended from `root`, `root` included.
 * @param {number} root
 * @returns {number[]}
 */
function processTree(root) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command may hold spaces and parentheses: the fields follow the last ')'.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/**
 * Resident and proportional set size of one process, in KiB, with its name.
 * @param {number} pid
 */
function memoryOf(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (/** @type {string} */ name) => Number(rollup.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
  const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  return { pid, name, rss: field('Rss'), pss: field('Pss') };
}

/** One launch: seconds until connected, and memory once idle. */
async function measure() {
  const home = mkdtempSync(path.join(tmpdir(), 'hearth-footprint-'));
  const port = await freePort();
  /** @type {Record<string, string>} */
  const extra = Object.fromEntries(values.env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  const env = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), ...extra };
  const started = performance.now();
  const app = spawn(values.app, ['--addr', `127.0.0.1:${port}`, '--ephemeral'], { env, stdio: 'ignore' });
  try {
    // Connected: the window's own WebSocket is open in the room.
    let connectedAfter = NaN;
    for (const deadline = started + 30000; performance.now() < deadline; await sleep(5)) {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json(), () => null);
      if (health && health.connections >= 1) {
        connectedAfter = (performance.now() - started) / 1000;
        break;
      }
    }
    if (Number.isNaN(connectedAfter)) throw new Error('the window did not connect within 30 s');
    await sleep(Number(values['idle-secs']) * 1000);
    const processes = processTree(/** @type {number} */ (app.pid)).map(memoryOf);
    return { connectedAfter, processes };
  } finally {
    app.kill('SIGTERM');
    await new Promise((resolve) => app.once('exit', resolve));
    rmSync(home, { recursive: true, force: true });
  }
}

const mib = (/** @type {number} */ kib) => (kib / 1024).toFixed(1);
const runs = [];
for (let i = 0; i < Number(values.runs); i++) runs.push(await measure());
const last = runs[runs.length - 1];
console.log(`app: ${values.app}${values.env.length ? ` with ${values.env.join(' ')}` : ''}`);
console.log('process                 RSS MiB   PSS MiB   (last run)');
for (const p of last.processes) console.log(`${p.name.padEnd(22)} ${mib(p.rss).padStart(8)} ${mib(p.pss).padStart(9)}`);
const totals = runs.map((run) => ({
  rss: run.processes.reduce((sum, p) => sum + p.rss, 0),
  pss: run.processes.reduce((sum, p) => sum + p.pss, 0),
}));
const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`total (median of ${runs.length}): RSS ${mib(median(totals.map((t) => t.rss)))} MiB, PSS ${mib(median(totals.map((t) => t.pss)))} MiB`);
console.log(`launch to connected window (median of ${runs.length}): ${median(runs.map((r) => r.connectedAfter)).toFixed(2)} s`);
