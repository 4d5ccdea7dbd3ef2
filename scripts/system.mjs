// Shared by `npm start` and `npm test`: find out what this machine is and
// install what Hearth needs on it (Debian/Ubuntu), or say what to install.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Debian packages, each with the reason it is needed. */
export const BUILD_PACKAGES = {
  'build-essential': 'C compiler and linker for Rust crates that build C code',
  'pkg-config': 'finds the GTK/WebKit libraries at build time',
  'libwebkit2gtk-4.1-dev': 'WebKitGTK, the web view the desktop window is made of',
  'libayatana-appindicator3-dev': 'tray and indicator support for Tauri on Linux',
  'librsvg2-dev': 'SVG icon rendering for GTK',
  'libssl-dev': 'TLS headers some Tauri dependencies build against',
  file: 'used by the Tauri bundler when packaging',
};

/** Extra packages the test suite needs. */
export const TEST_PACKAGES = {
  chromium: 'the browser the UI tests drive (no browser is downloaded)',
  'fonts-noto-color-emoji': 'emoji glyphs, so reactions and emoji in the UI tests\' screenshots show',
  xvfb: 'a virtual display for the desktop app test',
  xauth: 'lets xvfb-run authorize the test app on the virtual display',
  'webkit2gtk-driver': 'WebKitWebDriver, which drives the desktop window in tests',
  'dbus-daemon': 'a session bus for the desktop test (Hearth finds its running instance over D-Bus)',
  'python3-xlib': 'sends the desktop window the close request a window manager would (no window manager runs under Xvfb)',
  rpm: 'lists the files in the .rpm installer, to check it matches the .deb',
  iproute2: '`ip netns`: the second host (a network namespace) the sharing test joins from',
};

const PREREQUISITES = `Hearth builds with Tauri 2. Install its prerequisites first:
  https://v2.tauri.app/start/prerequisites/
  - Rust (rustup), Node.js 18+ and npm on every system;
  - macOS: Xcode Command Line Tools (xcode-select --install);
  - Windows: Microsoft C++ Build Tools and WebView2 (preinstalled on Windows 10/11);
  - Linux: WebKitGTK 4.1, build tools, librsvg2, libayatana-appindicator3
    (Fedora: dnf install webkit2gtk4.1-devel openssl-devel gcc-c++ librsvg2-devel libappindicator-gtk3-devel;
     Arch: pacman -S webkit2gtk-4.1 base-devel openssl librsvg libappindicator-gtk3).
Then run this command again; on those systems it builds and starts Hearth without installing anything.`;

/** @returns {boolean} whether this is Debian, Ubuntu or a derivative with apt. */
export function isDebianLike() {
  if (process.platform !== 'linux' || !existsSync('/etc/os-release')) return false;
  const release = readFileSync('/etc/os-release', 'utf8');
  return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(release) && commandExists('apt-get');
}

/** @param {string} command */
export function commandExists(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** @param {string} pkg */
function installed(pkg) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

/**
 * Installs the missing Debian packages of `wanted`, saying what and why.
 * Uses sudo when not root. Does nothing when all are present.
 * @param {Record<string, string>} wanted
 */
export function ensureDebianPackages(wanted) {
  const missing = Object.keys(wanted).filter((pkg) => !installed(pkg));
  if (missing.length === 0) return;
  console.log('Installing system packages Hearth needs:');
  for (const pkg of missing) console.log(`  ${pkg}: ${wanted[pkg]}`);
  const root = process.getuid?.() === 0;
  if (!root && !commandExists('sudo')) {
    throw new Error(`not root and no sudo: install them yourself with\n  apt-get install ${missing.join(' ')}`);
  }
  const prefix = root ? [] : ['sudo'];
  run([...prefix, 'apt-get', 'update', '-qq']);
  run([...prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing]);
}

/**
 * Checks the machine can build Hearth, installing what it can.
 * @param {{test?: boolean}} [options]
 */
export function ensureSystem(options = {}) {
  if (!isDebianLike()) {
    const missingTools = ['cargo', 'node', 'npm'].filter((tool) => !commandExists(tool));
    if (missingTools.length > 0 || process.platform !== 'linux') {
      console.log(`This is ${describeSystem()}; Hearth installs system packages itself only on Debian and Ubuntu.\n`);
      console.log(PREREQUISITES);
      if (missingTools.length > 0) throw new Error(`missing: ${missingTools.join(', ')}`);
    }
    return;
  }
  ensureDebianPackages(options.test ? { ...BUILD_PACKAGES, ...TEST_PACKAGES } : BUILD_PACKAGES);
  if (!commandExists('cargo') && !existsSync(path.join(homedir(), '.cargo', 'bin', 'cargo'))) {
    throw new Error('Rust is not installed. Install it with rustup (https://rustup.rs), then run this again.');
  }
}

/** Installs the npm packages (Tauri CLI, test tools) if they are missing or stale. */
export function ensureNodeModules() {
  const marker = path.join(ROOT, 'node_modules', '.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  const stale = !existsSync(marker) || readFileSync(marker, 'utf8').length === 0 ||
    (existsSync(lock) && statMtime(lock) > statMtime(marker));
  if (stale) run(['npm', 'ci', '--no-audit', '--no-fund']);
}

/** @param {string} file */
function statMtime(file) {
  return Number(execFileSync('stat', ['-c', '%Y', file], { encoding: 'utf8' }).trim() || 0);
}

function describeSystem() {
  if (process.platform === 'linux' && existsSync('/etc/os-release')) {
    const name = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m);
    return name ? name[1] : 'Linux';
  }
  return { darwin: 'macOS', win32: 'Windows' }[process.platform] ?? process.platform;
}

/** Whether a graphical display is available for the window. */
export function hasDisplay() {
  if (process.platform !== 'linux') return true;
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

/**
 * Runs a command in the repo root, inheriting stdio; throws on failure.
 * @param {string[]} argv
 * @param {{env?: NodeJS.ProcessEnv}} [options]
 */
export function run(argv, options = {}) {
  const [command, ...args] = argv;
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env: options.env ?? process.env });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited with ${result.status ?? result.signal}`);
}

/** @returns {Promise<number>} a free loopback port (for programs that cannot take port 0) */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
