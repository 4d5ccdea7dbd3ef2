// @ts-check
/**
 * The requests this page has sent on its connection and not had answered.
 * The server answers a connection's frames in the order they came, except
 * that a change to the conversation (`say`, `edit`, `delete`, `react`) is
 * answered once stored (its broadcast, or an `error`), which may be after
 * later frames are answered. So nothing is sent while a change is
 * unanswered, and an `error` answers the oldest request.
 * @module session
 */

/** @typedef {import('../timeline/conversation.js').ChatMessage} ChatMessage */
/** @typedef {import('../timeline/conversation.js').Quote} Quote */
/** @typedef {import('../timeline/conversation.js').FileInfo} FileInfo */
/** @typedef {{messages: ChatMessage[], more: boolean, before?: number, after?: number}} HistoryPage */
/**
 * A request sent on this connection and not answered yet. A `say` keeps
 * what it replied to and the files it carried, to put them back in the
 * composer if it is refused.
 * @typedef {{kind: 'hello' | 'rename' | 'people'} | {kind: 'search', query: string}
 *   | {kind: 'say', text: string, replyTo?: Quote | null, files?: FileInfo[]}
 *   | {kind: 'edit', id: number, text: string} | {kind: 'delete', id: number}
 *   | {kind: 'react', id: number, emoji: string}
 *   | {kind: 'history', generation: number, done: (page: HistoryPage) => void,
 *      failed: (code: string, text: string) => void}} Pending
 */
/** @typedef {{pending: Pending, frame: object}} Queued */

/** @type {import('./connection.js').RoomConnection | null} */
let connection = null;
/** @type {Pending[]} sent, not answered yet, oldest first */
let requests = [];
/** @type {Queued[]} waiting for a change to be answered */
let queued = [];

/** @param {import('./connection.js').RoomConnection} room */
export function mount(room) {
  connection = room;
}

/** Whether the socket is open. */
export function isOpen() {
  return connection?.state === 'connected';
}

/** Opens the socket again if it rests (see RoomConnection.ensureOpen). */
export function ensureOpen() {
  connection?.ensureOpen();
}

/**
 * Sends a frame that expects no answer (`typing`).
 * @param {object} frame
 * @returns {boolean}
 */
export function send(frame) {
  return connection?.send(frame) ?? false;
}

/** Requests answered once stored: nothing is sent while one is unanswered. */
/** How long to wait before asking again after the room said `rate_limited`. */
export const RETRY_MS = 1000;

const CHANGES = new Set(['say', 'edit', 'delete', 'react']);

/**
 * Sends a request and remembers it until it is answered. While a change
 * this page made is unanswered it waits its turn, so each answer, an
 * `error` especially, can be told apart (the protocol carries no request ids).
 * @param {Pending} pending
 * @param {object} frame
 * @returns {boolean} false when not connected (nothing was sent)
 */
export function request(pending, frame) {
  if (!connection || connection.state !== 'connected') return false;
  if (changeUnanswered()) {
    queued.push({ pending, frame });
    return true;
  }
  if (!connection.send(frame)) return false;
  requests.push(pending);
  return true;
}

/** @returns {boolean} */
function changeUnanswered() {
  return requests.some((pending) => CHANGES.has(pending.kind));
}

/** Sends what waited for a change to be answered, up to the next change. */
export function sendQueued() {
  while (queued.length > 0 && !changeUnanswered()) {
    const { pending, frame } = /** @type {Queued} */ (queued.shift());
    if (!connection?.send(frame)) return;
    requests.push(pending);
  }
}

/**
 * Takes the oldest unanswered request of `kind`: the one a reply of that
 * kind answers.
 * @template {Pending['kind']} K
 * @param {K} kind
 * @returns {Extract<Pending, {kind: K}> | undefined}
 */
export function answered(kind) {
  const index = requests.findIndex((pending) => pending.kind === kind);
  if (index === -1) return undefined;
  return /** @type {any} */ (requests.splice(index, 1)[0]);
}

/**
 * Takes the oldest unanswered request of `kind` that `matches`: the one a
 * broadcast (`edited`, `deleted`, `reaction`) answers when it is about what
 * this page asked for.
 * @template {Pending['kind']} K
 * @param {K} kind
 * @param {(pending: Extract<Pending, {kind: K}>) => boolean} matches
 * @returns {Extract<Pending, {kind: K}> | undefined}
 */
export function answeredWhere(kind, matches) {
  const index = requests.findIndex((pending) => pending.kind === kind && matches(/** @type {any} */ (pending)));
  if (index === -1) return undefined;
  return /** @type {any} */ (requests.splice(index, 1)[0]);
}

/**
 * Takes the oldest unanswered request: the one an `error` answers.
 * @returns {Pending | undefined}
 */
export function refused() {
  return requests.shift();
}

/**
 * Takes the queued (not yet sent) `say`s back out, in order: they follow
 * a refused one back into the composer.
 * @returns {Extract<Pending, {kind: 'say'}>[]}
 */
export function takeQueuedSays() {
  /** @type {Extract<Pending, {kind: 'say'}>[]} */
  const says = [];
  queued = queued.filter(({ pending }) => {
    if (pending.kind !== 'say') return true;
    says.push(pending);
    return false;
  });
  return says;
}

/**
 * The socket closed: nothing sent on it will be answered now, and nothing
 * queued will be sent on it.
 * @returns {{unanswered: Pending[], neverSent: Pending[]}}
 */
export function drop() {
  const unanswered = requests;
  const neverSent = queued.map(({ pending }) => pending);
  requests = [];
  queued = [];
  return { unanswered, neverSent };
}
