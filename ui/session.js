// @ts-check
/**
 * The requests this page has sent on its connection and not had answered.
 * The server answers a connection's frames in the order they came, except
 * that a `say` is answered once stored (its echo, or `storage_unavailable`),
 * which may be after later frames are answered. So nothing is sent while a
 * `say` is unanswered, and an `error` answers the oldest request.
 * @module session
 */

/** @typedef {import('./conversation.js').ChatMessage} ChatMessage */
/** @typedef {{messages: ChatMessage[], more: boolean, before?: number, after?: number}} HistoryPage */
/**
 * A request sent on this connection and not answered yet.
 * @typedef {{kind: 'hello' | 'rename'} | {kind: 'say', text: string} | {kind: 'search', query: string}
 *   | {kind: 'history', generation: number, done: (page: HistoryPage) => void,
 *      failed: (code: string, text: string) => void}} Pending
 */
/** @typedef {{pending: Pending, frame: object}} Queued */

/** @type {import('./connection.js').RoomConnection | null} */
let connection = null;
/** @type {Pending[]} sent, not answered yet, oldest first */
let requests = [];
/** @type {Queued[]} waiting for a `say` to be answered */
let queued = [];

/** @param {import('./connection.js').RoomConnection} room */
export function attach(room) {
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

/**
 * Sends a request and remembers it until it is answered. While a `say` of
 * this page is unanswered it waits its turn, so each answer, an `error`
 * especially, can be told apart (the protocol carries no request ids).
 * @param {Pending} pending
 * @param {object} frame
 * @returns {boolean} false when not connected (nothing was sent)
 */
export function request(pending, frame) {
  if (!connection || connection.state !== 'connected') return false;
  if (sayUnanswered()) {
    queued.push({ pending, frame });
    return true;
  }
  if (!connection.send(frame)) return false;
  requests.push(pending);
  return true;
}

/** @returns {boolean} */
function sayUnanswered() {
  return requests.some((pending) => pending.kind === 'say');
}

/** Sends what waited for a `say` to be answered, up to the next `say`. */
export function sendQueued() {
  while (queued.length > 0 && !sayUnanswered()) {
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
 * Takes the oldest unanswered request: the one an `error` answers.
 * @returns {Pending | undefined}
 */
export function refused() {
  return requests.shift();
}

/**
 * Takes the queued (not yet sent) `say`s back out, in order: they follow
 * a refused one back into the composer.
 * @returns {string[]}
 */
export function takeQueuedSays() {
  /** @type {string[]} */
  const texts = [];
  queued = queued.filter(({ pending }) => {
    if (pending.kind !== 'say') return true;
    texts.push(pending.text);
    return false;
  });
  return texts;
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
