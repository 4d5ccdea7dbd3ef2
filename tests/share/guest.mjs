// A guest on another machine, for the sharing test: run inside the test's
// network namespace (`ip netns exec …`), it takes one JSON command per line
// on stdin and answers each with one JSON line on stdout. Real HTTP
// requests and real WebSockets (the `ws` package, which can send a Cookie
// header as a browser would), to the host's network address only.
import http from 'node:http';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

/** @typedef {{ws: WebSocket, frames: any[], wake: (() => void) | null, closed: {code: number, reason: string} | null}} Guest */

/** @type {Map<string, Guest>} */
const sockets = new Map();

/**
 * A GET without redirects; resolves {status, setCookie, body} or {error}.
 * @param {{url: string, cookie?: string}} command
 */
function get({ url, cookie }) {
  return new Promise((resolve) => {
    const request = http.get(url, { headers: cookie ? { cookie } : {} }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({
        status: response.statusCode,
        setCookie: response.headers['set-cookie'] ?? [],
        body,
      }));
    });
    request.on('error', (/** @type {NodeJS.ErrnoException} */ error) => resolve({ error: error.code ?? error.message }));
    request.setTimeout(5000, () => request.destroy(new Error('timeout')));
  });
}

/**
 * Opens a WebSocket; resolves {status: 101} once open, or the refusal's status.
 * @param {{id: string, url: string, cookie?: string, origin: string}} command
 */
function open({ id, url, cookie, origin }) {
  return new Promise((resolve) => {
    const headers = cookie ? { cookie } : {};
    const ws = new WebSocket(url, { headers, origin });
    /** @type {Guest} */
    const guest = { ws, frames: [], wake: null, closed: null };
    ws.on('open', () => {
      sockets.set(id, guest);
      resolve({ status: 101 });
    });
    ws.on('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode });
      ws.terminate();
    });
    ws.on('error', (error) => resolve({ error: error.message }));
    ws.on('message', (data) => {
      guest.frames.push(JSON.parse(data.toString()));
      guest.wake?.();
    });
    ws.on('close', (code, reason) => {
      guest.closed = { code, reason: reason.toString() };
      guest.wake?.();
    });
  });
}

/**
 * Waits until `done` says yes, re-checking on each frame or close.
 * @param {Guest} guest @param {() => any} done
 */
async function until(guest, done) {
  for (;;) {
    const result = done();
    if (result) return result;
    await new Promise((resolve) => { guest.wake = () => resolve(undefined); });
  }
}

/** @param {any} command */
async function handle(command) {
  const guest = sockets.get(command.id);
  switch (command.op) {
    case 'get': return get(command);
    case 'open': return open(command);
    case 'send':
      guest?.ws.send(JSON.stringify(command.frame));
      return { sent: true };
    case 'next':
      if (!guest) return { error: 'no such socket' };
      return until(guest, () => {
        const index = guest.frames.findIndex((f) => f.type === command.type && (command.text === undefined || f.text === command.text));
        if (index !== -1) return { frame: guest.frames.splice(index, 1)[0] };
        return guest.closed ? { error: `closed ${guest.closed.code}` } : null;
      });
    case 'closed':
      if (!guest) return { error: 'no such socket' };
      return until(guest, () => guest.closed);
    default: return { error: `unknown op ${command.op}` };
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const command = JSON.parse(line);
  const answer = await handle(command);
  process.stdout.write(`${JSON.stringify({ seq: command.seq, ...answer })}\n`);
});
lines.on('close', () => {
  for (const { ws } of sockets.values()) ws.terminate();
});
