// `npm start`: from a fresh clone to a hosted room. Installs what is missing,
// builds, and launches the desktop app (headless when there is no display).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensureNodeModules, ensureSystem, hasDisplay, ROOT, run } from './system.mjs';

try {
  ensureSystem();
  ensureNodeModules();
  console.log('Building Hearth (the first build takes a few minutes)…');
  run(['cargo', 'build', '-p', 'hearth']);
} catch (error) {
  console.error(`\nnpm start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}

const args = process.argv.slice(2);
if (!hasDisplay()) {
  console.log('No display found (DISPLAY/WAYLAND_DISPLAY unset): hosting the room without a window.');
  console.log('Open the address below in a browser on this machine; Ctrl-C stops the room.');
  args.unshift('--headless');
}
const app = spawn(path.join(ROOT, 'target', 'debug', process.platform === 'win32' ? 'hearth.exe' : 'hearth'), args, {
  cwd: ROOT,
  stdio: 'inherit',
});
// Ctrl-C reaches the app through the terminal; let it close the room itself.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => app.kill('SIGTERM'));
app.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
