// A second host for the sharing test: a network namespace joined to this
// one by a veth pair, with addresses from the benchmarking range
// 198.18.0.0/15 (RFC 2544) and no other. Needs root (CI runs as root).
// Everything made here is removed on close, on exit and on Ctrl-C, and
// leftovers of an earlier run that died are removed first.
import { execFileSync, spawn } from 'node:child_process';

export const HOST_ADDR = '198.18.0.1';
export const GUEST_ADDR = '198.18.0.2';

/** @param {string[]} args */
function ip(args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** @param {string[]} args */
function ipQuietly(args) {
  try { ip(args); } catch { /* already gone */ }
}

/** @param {number} pid */
function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Removes namespaces and links of earlier runs whose process is gone. */
function removeLeftovers() {
  for (const line of ip(['netns', 'list']).split('\n')) {
    const match = /^hearth-t(\d+)/.exec(line.trim());
    if (match && !alive(Number(match[1]))) ipQuietly(['netns', 'del', `hearth-t${match[1]}`]);
  }
  for (const line of ip(['-o', 'link', 'show']).split('\n')) {
    const match = /^\d+:\s+(hth(\d+)h)[@:]/.exec(line);
    if (match && !alive(Number(match[2]))) ipQuietly(['link', 'del', match[1]]);
  }
}

/**
 * Creates the namespace and the veth pair: 198.18.0.1/30 here,
 * 198.18.0.2/30 inside.
 */
export function createNetwork() {
  if (process.getuid?.() !== 0) {
    throw new Error('the sharing test makes a network namespace: run it as root (CI does)');
  }
  removeLeftovers();
  const tag = String(process.pid);
  const ns = `hearth-t${tag}`;
  const hostSide = `hth${tag}h`.slice(0, 15);
  const guestSide = `hth${tag}g`.slice(0, 15);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    ipQuietly(['link', 'del', hostSide]);
    ipQuietly(['netns', 'del', ns]);
  };
  const onSignal = () => { remove(); process.exit(130); };
  process.once('exit', remove);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    ip(['netns', 'add', ns]);
    ip(['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', guestSide, 'netns', ns]);
    ip(['addr', 'add', `${HOST_ADDR}/30`, 'dev', hostSide]);
    ip(['link', 'set', hostSide, 'up']);
    ip(['-n', ns, 'addr', 'add', `${GUEST_ADDR}/30`, 'dev', guestSide]);
    ip(['-n', ns, 'link', 'set', guestSide, 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    remove();
    throw error;
  }
  return {
    ns,
    /**
     * Runs a program inside the namespace.
     * @param {string} program @param {string[]} args @param {import('node:child_process').SpawnOptions} [options]
     */
    spawn: (program, args, options = {}) => spawn('ip', ['netns', 'exec', ns, program, ...args], options),
    remove,
  };
}
