// @ts-check
/**
 * Hearth's chat page: joins the room, shows the conversation, and keeps
 * itself connected. Speaks protocol v1 (docs/protocol.md).
 * @module app
 */

import { JOIN_TIMEOUT_REASON, RoomConnection } from './connection.js';
import { Conversation } from './conversation.js';
import { avatar, el, formatTime, formatWhen, mentions, messageText } from './render.js';
import { SEARCH_LIMIT, SearchPanel } from './search.js';
import * as desktop from './desktop.js';

/** @typedef {{id: number, name: string}} User */
/** @typedef {import('./conversation.js').ChatMessage} ChatMessage */
/** @typedef {{max_message_bytes: number, max_name_chars: number}} Limits */
/** @typedef {{messages: ChatMessage[], more: boolean, before?: number, after?: number}} HistoryPage */
/**
 * A request sent on this connection and not answered yet. The server
 * answers a connection's frames in the order they came, except that a
 * `say` is answered once stored (its echo, or `storage_unavailable`), which
 * may be after later frames are answered. So nothing is sent while a `say`
 * is unanswered (see `request`), and an `error` answers the oldest of these.
 * @typedef {{kind: 'hello' | 'rename'} | {kind: 'say', text: string} | {kind: 'search', query: string}
 *   | {kind: 'history', generation: number, done: (page: HistoryPage) => void,
 *      failed: (code: string, text: string) => void}} Pending
 */

const NAME_KEY = 'hearth.name';
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOW_FOR_MS = 5000;
const APP_TITLE = 'Hearth';
/** Older messages fetched each time the reader nears the top. */
const OLDER_PAGE = 50;
/** Start fetching older messages this close to the top. */
const LOAD_OLDER_WITHIN_PX = 300;
/** Pages fetched while looking for a search result older than what is shown. */
const JUMP_PAGE = 200;
const JUMP_MAX_PAGES = 20;
/** Messages on each side of a result shown on its own, away from the latest. */
const WINDOW_HALF = 100;
/** The newest messages fetched when going back to the latest. */
const LATEST_PAGE = 100;
/** Pages fetched to fill what was missed while disconnected. */
const GAP_PAGE = 200;
const GAP_MAX_PAGES = 10;
/** Live messages remembered while viewing older ones. */
const MAX_HELD = 1000;
/** Wait before asking again after `rate_limited`. */
const RETRY_MS = 1000;

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return /** @type {T} */ (node);
}

const ui = {
  status: byId('status'),
  statusText: byId('status-text'),
  log: byId('log'),
  messages: /** @type {HTMLOListElement} */ (byId('messages')),
  historyTop: byId('history-top'),
  loadEarlier: /** @type {HTMLButtonElement} */ (byId('load-earlier')),
  historyStatus: byId('history-status'),
  olderBar: byId('older-bar'),
  olderBarText: byId('older-bar-text'),
  jumpLatest: /** @type {HTMLButtonElement} */ (byId('jump-latest')),
  clearDialog: /** @type {HTMLDialogElement} */ (byId('clear-dialog')),
  emptyState: byId('empty-state'),
  emptyAddress: byId('empty-address'),
  newMessages: /** @type {HTMLButtonElement} */ (byId('new-messages')),
  typing: byId('typing'),
  composer: /** @type {HTMLFormElement} */ (byId('composer')),
  input: /** @type {HTMLTextAreaElement} */ (byId('composer-input')),
  send: /** @type {HTMLButtonElement} */ (byId('send-button')),
  counter: byId('counter'),
  composerError: byId('composer-error'),
  people: byId('people'),
  peopleCount: byId('people-count'),
  nameButton: /** @type {HTMLButtonElement} */ (byId('name-button')),
  nameButtonHint: /** @type {HTMLElement} */ (byId('name-button-hint')),
  myName: byId('my-name'),
  myAvatar: byId('my-avatar'),
  notifyButton: /** @type {HTMLButtonElement} */ (byId('notify-button')),
  dialog: /** @type {HTMLDialogElement} */ (byId('name-dialog')),
  nameForm: /** @type {HTMLFormElement} */ (byId('name-form')),
  nameTitle: byId('name-title'),
  nameIntro: byId('name-intro'),
  nameInput: /** @type {HTMLInputElement} */ (byId('name-input')),
  nameError: byId('name-error'),
  nameCancel: /** @type {HTMLButtonElement} */ (byId('name-cancel')),
  nameSubmit: /** @type {HTMLButtonElement} */ (byId('name-submit')),
  announcer: byId('announcer'),
};

const state = {
  /** @type {User | null} */
  me: null,
  /** @type {string | null} */
  wantedName: loadName(),
  /** @type {string | null} id of the conversation the shown messages belong to */
  room: null,
  view: {
    /** @type {'live' | 'window'} the latest messages as they come, or older ones around a search result */
    mode: /** @type {'live' | 'window'} */ ('live'),
    /** @type {'more' | 'loading' | 'start'} whether older messages may lie above what is shown */
    older: /** @type {'more' | 'loading' | 'start'} */ ('more'),
    /** why the last page of older messages failed, until the next try */
    olderError: '',
    /** bumped whenever the view starts over: answers to requests from before are dropped */
    generation: 0,
    /** @type {ChatMessage[]} live messages that came while viewing older ones */
    held: /** @type {ChatMessage[]} */ ([]),
    heldOverflow: false,
  },
  /** @type {{id: number, pages: number} | null} a search result being fetched */
  jump: /** @type {{id: number, pages: number} | null} */ (null),
  /** @type {Pending[]} sent, not answered yet, oldest first */
  requests: /** @type {Pending[]} */ ([]),
  /** @type {{pending: Pending, frame: object}[]} waiting for a `say` to be answered */
  queued: /** @type {{pending: Pending, frame: object}[]} */ ([]),
  /** @type {Map<number, User>} */
  users: new Map(),
  /** @type {Map<number, {name: string, timer: ReturnType<typeof setTimeout>}>} */
  typing: new Map(),
  /** @type {Limits} */
  limits: { max_message_bytes: 16384, max_name_chars: 32 },
  /** @type {'join' | 'rename' | null} what the name dialog is for */
  dialogMode: /** @type {'join' | 'rename' | null} */ (null),
  lastTypingSent: 0,
  unread: 0,
  unseenBelow: 0,
  address: '',
};

/** @type {RoomConnection} */
let connection;

const conversation = new Conversation(ui.messages, renderMessage);

const search = new SearchPanel({
  send: (query) => request({ kind: 'search', query }, { type: 'search', query, limit: SEARCH_LIMIT }),
  choose: (id) => jumpTo(id),
  canOpen: () => !ui.dialog.open && !ui.clearDialog.open,
});

// ---------------------------------------------------------------- start-up

async function start() {
  let url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  state.address = location.origin;
  if (desktop.isDesktop()) {
    const info = await desktop.roomInfo();
    if (info) {
      state.address = info.url;
      url = `${info.url.replace(/^http/, 'ws')}/ws`;
      desktop.setupHostPanel(info, announce).catch((error) => console.error('host panel', error));
    }
  } else if ('Notification' in window && Notification.permission === 'default') {
    ui.notifyButton.hidden = false;
  }
  ui.emptyAddress.textContent = state.address;

  connection = new RoomConnection(url);
  connection.addEventListener('state', (event) => showConnectionState(/** @type {CustomEvent} */ (event).detail));
  connection.addEventListener('open', onOpen);
  connection.addEventListener('message', (event) => onMessage(/** @type {CustomEvent} */ (event).detail));
  connection.addEventListener('close', (event) => onClose(/** @type {CustomEvent<CloseEvent>} */ (event).detail));
  connection.connect();

  wireComposer();
  wireNameDialog();
  wireScrolling();
  wireAttention();
  updateComposer();
  updateEmptyState();
  renderOlder();
  if (!state.wantedName) openNameDialog('join');
}

/** @returns {string | null} */
function loadName() {
  try {
    return localStorage.getItem(NAME_KEY);
  } catch {
    return null;
  }
}

/** @param {string} name */
function saveName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Private mode or storage disabled: the name lasts for this page only.
  }
}

// ---------------------------------------------------------------- connection

function onOpen() {
  if (state.wantedName) request({ kind: 'hello' }, { type: 'hello', name: state.wantedName });
}

/** @param {CloseEvent} event */
function onClose(event) {
  state.me = null;
  clearTyping();
  // Nothing sent on that socket will be answered now, and nothing queued
  // will be sent on it; messages that never left go back in the box.
  const unanswered = state.requests;
  const neverSent = state.queued.map(({ pending }) => pending);
  state.requests = [];
  state.queued = [];
  const unsent = neverSent.flatMap((pending) => (pending.kind === 'say' ? [pending.text] : []));
  if (unsent.length > 0) restoreDraft(unsent.join('\n'));
  if (state.view.older === 'loading') state.view.older = 'more';
  state.jump = null;
  renderOlder();
  search.lost();
  if (event.code === 1009) {
    showComposerError(`That message was too long: the limit is ${formatBytes(state.limits.max_message_bytes)}.`);
    const lastSay = unanswered.filter((pending) => pending.kind === 'say').at(-1);
    if (lastSay?.kind === 'say') restoreDraft(lastSay.text);
  } else if (event.code === 1008 && event.reason === JOIN_TIMEOUT_REASON) {
    // Nobody joined on this socket for a while; it reopens when someone does.
  } else if (event.code === 1008) {
    showComposerError('The room dropped this window for falling behind; reconnecting…');
  }
  updateComposer();
}

/**
 * Sends a request and remembers it until it is answered. While a `say` of
 * this page is unanswered it waits its turn, so each answer, an `error`
 * especially, can be told apart (the protocol carries no request ids).
 * @param {Pending} pending
 * @param {object} frame
 * @returns {boolean} false when not connected (nothing was sent)
 */
function request(pending, frame) {
  if (connection?.state !== 'connected') return false;
  if (sayUnanswered()) {
    state.queued.push({ pending, frame });
    return true;
  }
  if (!connection.send(frame)) return false;
  state.requests.push(pending);
  return true;
}

/** @returns {boolean} */
function sayUnanswered() {
  return state.requests.some((pending) => pending.kind === 'say');
}

/** Sends what waited for a `say` to be answered, up to the next `say`. */
function sendQueued() {
  while (state.queued.length > 0 && !sayUnanswered()) {
    const { pending, frame } = /** @type {{pending: Pending, frame: object}} */ (state.queued.shift());
    if (!connection.send(frame)) return;
    state.requests.push(pending);
  }
}

/**
 * Takes the oldest unanswered request of `kind`: the one a reply of that
 * kind answers.
 * @template {Pending['kind']} K
 * @param {K} kind
 * @returns {Extract<Pending, {kind: K}> | undefined}
 */
function answered(kind) {
  const index = state.requests.findIndex((pending) => pending.kind === kind);
  if (index === -1) return undefined;
  return /** @type {any} */ (state.requests.splice(index, 1)[0]);
}

/**
 * Asks for a page of stored messages. The answer is dropped if the view has
 * started over since.
 * @param {{before?: number, after?: number, limit: number}} params
 * @param {(page: HistoryPage) => void} done
 * @param {(code: string, text: string) => void} failed
 * @returns {boolean} false when not connected
 */
function requestHistory(params, done, failed) {
  if (!state.me) return false;
  return request({ kind: 'history', generation: state.view.generation, done, failed }, { type: 'history', ...params });
}

/** @type {ReturnType<typeof setInterval> | undefined} */
let countdown;

/** @param {import('./connection.js').StateDetail} detail */
function showConnectionState(detail) {
  clearInterval(countdown);
  ui.status.dataset.state = detail.state;
  const render = () => {
    const seconds = Math.max(0, Math.ceil(((detail.retryAt ?? Date.now()) - Date.now()) / 1000));
    switch (detail.state) {
      case 'idle':
        ui.statusText.textContent = 'Pick a name to join';
        break;
      case 'connecting':
        ui.statusText.textContent = 'Connecting…';
        break;
      case 'connected':
        ui.statusText.textContent = 'Connected';
        break;
      case 'reconnecting':
        ui.statusText.textContent = seconds > 0 ? `Reconnecting in ${seconds} s…` : 'Reconnecting…';
        break;
      case 'closed':
        ui.statusText.textContent = `The host closed the room · retrying${seconds > 0 ? ` in ${seconds} s` : '…'}`;
        break;
      case 'offline':
        ui.statusText.textContent = 'Offline · waiting for the network';
        break;
    }
  };
  render();
  if (detail.retryAt) countdown = setInterval(render, 500);
  updateComposer();
}

/** @param {any} message */

/** @param {any} message */
function onMessage(message) {
  switch (message.type) {
    case 'welcome':
      onWelcome(message);
      break;
    case 'message':
      onLiveMessage(message);
      break;
    case 'history': {
      const pending = answered('history');
      if (pending && pending.generation === state.view.generation) pending.done(message);
      break;
    }
    case 'results':
      answered('search');
      search.showResults(message);
      break;
    case 'cleared':
      onCleared();
      break;
    case 'joined':
      state.users.set(message.user.id, message.user);
      addSystem(`${message.user.name} joined`);
      announce(`${message.user.name} joined`);
      renderPeople();
      break;
    case 'left':
      state.users.delete(message.user.id);
      stopTyping(message.user.id);
      addSystem(`${message.user.name} left`);
      renderPeople();
      break;
    case 'renamed':
      onRenamed(message.user, message.previous);
      break;
    case 'typing':
      if (message.user.id !== state.me?.id) startTyping(message.user);
      break;
    case 'error':
      onServerError(message.code, message.message);
      break;
  }
}

/**
 * Joined (again). The same `room` is the same conversation: what is shown
 * stays, the welcome's history is added to it, and what was said while
 * this page was away is fetched. Another `room` is another conversation.
 * @param {{room: string, you: User, users: User[], history: ChatMessage[], first_id: number, limits: Limits}} welcome
 */
function onWelcome(welcome) {
  answered('hello');
  const sameRoom = state.room === welcome.room;
  const rejoined = state.room !== null;
  state.room = welcome.room;
  state.me = welcome.you;
  state.wantedName = welcome.you.name;
  saveName(welcome.you.name);
  state.limits = welcome.limits;
  state.users = new Map(welcome.users.map((user) => [user.id, user]));
  const history = welcome.history;
  const lastShown = conversation.newest;
  if (!sameRoom || state.view.mode === 'window' || lastShown === null) {
    if (rejoined && !sameRoom) {
      resetView('live');
      addSystem('The room restarted with a new conversation; the one before is not shown.', 'divider');
    } else if (state.view.mode === 'window') {
      resetView('live');
    }
    state.view.older = history.length > 0 ? 'more' : 'start';
    showPage(history);
  } else {
    // What the host cleared (or the room pruned) while this page was away
    // is gone for everyone: drop it here too.
    if (conversation.oldest !== null && conversation.oldest < welcome.first_id) {
      keepAnchor(() => conversation.keepFrom(welcome.first_id));
      if (conversation.size === 0) addSystem('The host cleared the history');
    }
    showPage(history);
    // A full history that starts after the last message shown: some were
    // missed. (Ids may skip numbers, so this may find nothing.)
    const first = history[0];
    if (first && first.id > lastShown) fillGap(lastShown, first.id, 0);
  }
  if (state.dialogMode === 'join') closeNameDialog();
  showMe();
  renderPeople();
  updateComposer();
  updateEmptyState();
  renderOlder();
  maybeLoadOlder();
  search.refresh();
}

/**
 * Fetches the messages after `after` until the first one the welcome
 * brought (`until`), a page at a time. Past GAP_MAX_PAGES, the view starts
 * at the welcome's messages instead; older ones are a scroll away.
 * @param {number} after
 * @param {number} until
 * @param {number} pages fetched so far
 */
function fillGap(after, until, pages) {
  if (pages === GAP_MAX_PAGES) {
    keepAnchor(() => conversation.keepFrom(until));
    state.view.older = 'more';
    renderOlder();
    return;
  }
  requestHistory(
    { after, limit: GAP_PAGE },
    (page) => {
      showPage(page.messages);
      const last = page.messages.at(-1);
      if (!page.more || !last || last.id >= until) return;
      fillGap(last.id, until, pages + 1);
    },
    (code) => {
      if (code !== 'rate_limited') return;
      const generation = state.view.generation;
      setTimeout(() => {
        if (state.view.generation === generation) fillGap(after, until, pages);
      }, RETRY_MS);
    },
  );
}

/**
 * @param {User} user
 * @param {string} previous
 */
function onRenamed(user, previous) {
  state.users.set(user.id, user);
  if (user.id === state.me?.id) {
    answered('rename');
    state.me = user;
    state.wantedName = user.name;
    saveName(user.name);
    showMe();
    if (state.dialogMode === 'rename') closeNameDialog();
    addSystem(`You are now ${user.name}`);
  } else {
    addSystem(`${previous} is now ${user.name}`);
  }
  renderPeople();
}

/**
 * A request failed: the oldest unanswered one.
 * @param {string} code
 * @param {string} text
 */
function onServerError(code, text) {
  const pending = state.requests.shift();
  if (code === 'name_taken' || code === 'invalid_name') {
    if (!state.dialogMode) openNameDialog(state.me ? 'rename' : 'join');
    showNameError(code === 'name_taken' ? 'Someone here already has that name. Try another.' : text);
    return;
  }
  switch (pending?.kind) {
    case 'history':
      if (pending.generation === state.view.generation) pending.failed(code, text);
      break;
    case 'search':
      search.failed(pending.query, code);
      break;
    case 'hello':
    case 'rename':
      if (state.dialogMode) showNameError(code === 'rate_limited' ? 'Too many tries at once. Wait a moment, then try again.' : text);
      else showComposerError(text);
      break;
    case 'say': {
      // Messages typed after it and not sent yet come back with it, in order.
      const texts = [pending.text];
      state.queued = state.queued.filter(({ pending: later }) => {
        if (later.kind !== 'say') return true;
        texts.push(later.text);
        return false;
      });
      sendQueued();
      if (code === 'rate_limited') {
        showComposerError('You are sending messages too quickly. Wait a moment, then send again.');
      } else if (code === 'storage_unavailable') {
        showComposerError('The room could not save your message, so nobody received it. It is back in the box: try again in a moment.');
      } else {
        showComposerError(text);
      }
      restoreDraft(texts.join('\n'));
      break;
    }
    default:
      showComposerError(text);
  }
}

// ---------------------------------------------------------------- messages

/** @param {ChatMessage} message */
function onLiveMessage(message) {
  const mine = message.from.id === state.me?.id;
  if (mine && answered('say')) sendQueued();
  stopTyping(message.from.id);
  if (conversation.has(message.id)) return;
  if (state.view.mode === 'window') {
    // Shown when the reader goes back to the latest.
    if (state.view.held.length < MAX_HELD) state.view.held.push(message);
    else state.view.heldOverflow = true;
    renderOlderBar();
  } else {
    const wasAtBottom = isAtBottom();
    conversation.insert([message]);
    updateEmptyState();
    if (wasAtBottom || mine) {
      scrollToBottom();
    } else {
      state.unseenBelow += 1;
      ui.newMessages.textContent = `${state.unseenBelow} new message${state.unseenBelow === 1 ? '' : 's'} ↓`;
      ui.newMessages.hidden = false;
    }
  }
  if (!mine) {
    announce(`${message.from.name}: ${message.text.slice(0, 200)}`);
    drawAttention(message);
  }
}

/**
 * Shows stored messages (a history page, a welcome's history) where they
 * belong, without moving what the reader is looking at.
 * @param {ChatMessage[]} messages
 */
function showPage(messages) {
  keepAnchor(() => conversation.insert(messages));
  updateEmptyState();
}

/**
 * @param {ChatMessage} message
 * @returns {HTMLLIElement}
 */
function renderMessage(message) {
  const mine = message.from.id === state.me?.id;
  const item = el('li', 'msg');
  item.dataset.id = String(message.id);
  if (mine) item.classList.add('mine');
  if (!mine && mentions(message.text, state.me?.name ?? null)) item.classList.add('mentions-me');

  const meta = el('div', 'meta');
  meta.append(el('span', 'who', mine ? `${message.from.name} (you)` : message.from.name));
  const time = el('time', undefined, formatWhen(message.ts));
  time.dateTime = new Date(message.ts).toISOString();
  meta.append(time);
  const text = messageText(message.text, state.me?.name ?? null);
  text.title = formatTime(message.ts);
  item.append(avatar(message.from), meta, text);
  return item;
}

/**
 * @param {string} text
 * @param {string} [extraClass]
 */
function addSystem(text, extraClass) {
  // Below older messages it would be out of place; the latest view is reloaded anyway.
  if (state.view.mode === 'window') return;
  const wasAtBottom = isAtBottom();
  conversation.appendSystem(text, extraClass);
  if (wasAtBottom) scrollToBottom();
  updateEmptyState();
}

function updateEmptyState() {
  const alone = state.users.size <= 1;
  ui.emptyState.hidden = !(alone && conversation.size === 0);
  ui.historyTop.hidden = state.room === null || !ui.emptyState.hidden;
}

/** The host cleared the history: everyone's view empties. */
function onCleared() {
  resetView('live');
  state.view.older = 'start';
  addSystem('The host cleared the history');
  announce('The host cleared the history');
  renderOlder();
  search.refresh();
}

// ---------------------------------------------------------------- older messages

/**
 * Starts the view over, empty: in `mode`, with older messages to fetch.
 * Answers to requests made for the view before are dropped.
 * @param {'live' | 'window'} mode
 */
function resetView(mode) {
  state.view.generation += 1;
  state.view.mode = mode;
  state.view.older = 'loading';
  state.view.olderError = '';
  state.view.held = [];
  state.view.heldOverflow = false;
  state.jump = null;
  conversation.clear();
  state.unseenBelow = 0;
  ui.newMessages.hidden = true;
  renderOlderBar();
  updateEmptyState();
}

/** Fetches older messages when the reader is near the top, or when the view does not fill the log. */
function maybeLoadOlder() {
  if (state.view.older !== 'more' || state.view.olderError || !state.me || ui.log.clientHeight === 0) return;
  // Tabbing to the button scrolls the log to the top: the button is for that.
  if (document.activeElement === ui.loadEarlier) return;
  if (ui.log.scrollTop < LOAD_OLDER_WITHIN_PX) loadOlder();
}

/** Fetches the page of messages just older than the oldest shown. */
function loadOlder() {
  if (state.view.older !== 'more' || !state.me) return;
  const oldest = conversation.oldest;
  if (oldest === null) {
    state.view.older = 'start';
    renderOlder();
    return;
  }
  const hadFocus = document.activeElement === ui.loadEarlier;
  state.view.older = 'loading';
  state.view.olderError = '';
  keepAnchor(renderOlder);
  if (hadFocus) ui.log.focus({ preventScroll: true });
  const sent = requestHistory(
    { before: oldest, limit: OLDER_PAGE },
    (page) => {
      state.view.older = page.more ? 'more' : 'start';
      let added = 0;
      keepAnchor(() => {
        added = conversation.insert(page.messages).length;
        renderOlder();
      });
      if (added > 0) announce(`${added} earlier message${added === 1 ? '' : 's'} loaded`);
      if (hadFocus && !ui.loadEarlier.hidden && document.activeElement === ui.log) ui.loadEarlier.focus({ preventScroll: true });
      maybeLoadOlder();
    },
    (code) => {
      if (code === 'rate_limited') {
        const generation = state.view.generation;
        setTimeout(() => {
          if (state.view.generation !== generation || state.view.older !== 'loading') return;
          state.view.older = 'more';
          loadOlder();
        }, RETRY_MS);
        return;
      }
      state.view.older = 'more';
      state.view.olderError = 'Earlier messages could not be loaded.';
      keepAnchor(renderOlder);
    },
  );
  if (!sent) {
    state.view.older = 'more';
    keepAnchor(renderOlder);
  }
}

/** Shows whether older messages are loading, can be loaded, or there are none. */
function renderOlder() {
  const { older, olderError } = state.view;
  ui.loadEarlier.hidden = older !== 'more';
  ui.loadEarlier.textContent = olderError ? 'Try again' : 'Load earlier messages';
  ui.historyStatus.dataset.kind = olderError ? 'error' : older;
  ui.historyStatus.textContent =
    older === 'loading' ? 'Loading earlier messages…' : older === 'start' ? 'Beginning of the conversation' : olderError;
}

/**
 * Shows message `id` (a search result): at once if it is shown; by
 * fetching older pages if it is not far above; otherwise on its own, with
 * the messages around it.
 * @param {number} id
 */
function jumpTo(id) {
  state.jump = null;
  const item = conversation.element(id);
  if (item) {
    showFound(item);
    return;
  }
  const oldest = conversation.oldest;
  if (oldest !== null && id < oldest && state.view.older !== 'start') {
    state.jump = { id, pages: 0 };
    pageTowards(state.jump);
  } else {
    openWindow(id);
  }
}

/**
 * Fetches the next page up while looking for `jump.id`.
 * @param {{id: number, pages: number}} jump
 */
function pageTowards(jump) {
  if (state.jump !== jump) return;
  if (jump.pages === JUMP_MAX_PAGES) {
    openWindow(jump.id);
    return;
  }
  const oldest = conversation.oldest;
  state.view.older = 'loading';
  state.view.olderError = '';
  keepAnchor(renderOlder);
  const sent = requestHistory(
    { before: oldest ?? jump.id + 1, limit: JUMP_PAGE },
    (page) => {
      jump.pages += 1;
      state.view.older = page.more ? 'more' : 'start';
      keepAnchor(() => {
        conversation.insert(page.messages);
        renderOlder();
      });
      if (state.jump !== jump) return;
      const item = conversation.element(jump.id);
      const first = page.messages[0];
      if (item || !page.more || !first || first.id < jump.id) {
        state.jump = null;
        if (item) showFound(item);
        else announce('That message is no longer in the conversation.');
        return;
      }
      pageTowards(jump);
    },
    (code) => {
      if (code === 'rate_limited') {
        setTimeout(() => pageTowards(jump), RETRY_MS);
        return;
      }
      state.jump = null;
      state.view.older = 'more';
      state.view.olderError = 'Earlier messages could not be loaded.';
      keepAnchor(renderOlder);
    },
  );
  if (!sent) {
    state.jump = null;
    state.view.older = 'more';
    renderOlder();
  }
}

/**
 * Replaces the view with the messages around `id`, away from the latest
 * ones, until the reader jumps back.
 * @param {number} id
 */
function openWindow(id) {
  resetView('window');
  renderOlder();
  /** @type {HistoryPage | null} */
  let before = null;
  /** @type {HistoryPage | null} */
  let after = null;
  const show = () => {
    if (!before || !after) return;
    conversation.insert([...before.messages, ...after.messages]);
    state.view.older = before.more ? 'more' : 'start';
    if (!after.more && !state.view.heldOverflow) {
      // Nothing newer than this page: it is the latest after all.
      state.view.mode = 'live';
      conversation.insert(state.view.held);
      state.view.held = [];
    }
    renderOlder();
    renderOlderBar();
    updateEmptyState();
    const item = conversation.element(id);
    if (item) showFound(item);
    else announce('That message is no longer in the conversation.');
    if (state.view.mode === 'window') announce('Showing older messages. Jump to latest to go back.');
  };
  /** @param {string} code */
  const failed = (code) => {
    state.view.older = 'more';
    state.view.olderError = code === 'rate_limited' ? 'Too many requests at once.' : 'These messages could not be loaded.';
    renderOlder();
  };
  requestHistory({ before: id + 1, limit: WINDOW_HALF }, (page) => { before = page; show(); }, failed);
  requestHistory({ after: id, limit: WINDOW_HALF }, (page) => { after = page; show(); }, failed);
}

/** Leaves older messages for the newest ones, as they come. */
function jumpToLatest() {
  resetView('live');
  renderOlder();
  requestHistory(
    { limit: LATEST_PAGE },
    (page) => {
      conversation.insert(page.messages);
      state.view.older = page.more && page.messages.length > 0 ? 'more' : 'start';
      renderOlder();
      updateEmptyState();
      scrollToBottom();
      maybeLoadOlder();
    },
    () => {
      state.view.older = 'more';
      state.view.olderError = 'Messages could not be loaded.';
      renderOlder();
    },
  );
}

/** The bar shown while viewing older messages, with how many came since. */
function renderOlderBar() {
  const inWindow = state.view.mode === 'window';
  ui.olderBar.hidden = !inWindow;
  const fresh = state.view.held.length;
  ui.olderBarText.textContent = `You are viewing older messages${fresh > 0 ? ` · ${fresh}${state.view.heldOverflow ? '+' : ''} new` : ''}`;
}

/**
 * Scrolls a message into view and highlights it briefly.
 * @param {HTMLElement} item
 */
function showFound(item) {
  item.scrollIntoView({ block: 'center' });
  item.classList.remove('found');
  // Restart the highlight's animation if it is still running.
  void item.offsetWidth;
  item.classList.add('found');
  item.tabIndex = -1;
  item.focus({ preventScroll: true });
  setTimeout(() => item.classList.remove('found'), 3000);
}

/**
 * Runs `mutate` (which adds or removes content) without moving what the
 * reader is looking at: the first message in view stays where it is, or
 * the view stays at the bottom if it was there.
 * @param {() => void} mutate
 */
function keepAnchor(mutate) {
  const wasAtBottom = isAtBottom();
  const anchor = wasAtBottom ? null : firstVisibleItem();
  const top = anchor ? anchor.getBoundingClientRect().top : 0;
  mutate();
  if (wasAtBottom) {
    ui.log.scrollTop = ui.log.scrollHeight;
  } else if (anchor?.isConnected) {
    ui.log.scrollTop += anchor.getBoundingClientRect().top - top;
  }
}

/**
 * The first item of the list whose bottom is below the top of the log,
 * found by bisection (the items are laid out top to bottom).
 * @returns {Element | null}
 */
function firstVisibleItem() {
  const items = ui.messages.children;
  const top = ui.log.getBoundingClientRect().top;
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (items[middle].getBoundingClientRect().bottom > top) high = middle;
    else low = middle + 1;
  }
  return items[low] ?? null;
}

// ---------------------------------------------------------------- people & typing

function showMe() {
  const me = state.me;
  ui.myName.textContent = me ? me.name : 'Choose a name';
  ui.myAvatar.replaceWith(me ? avatar(me) : el('span', 'avatar'));
  ui.myAvatar = /** @type {HTMLElement} */ (ui.nameButton.querySelector('.avatar'));
  // The accessible name starts with the visible text (WCAG 2.5.3), then says what the button does.
  ui.nameButtonHint.textContent = me ? ', your name: change it' : '';
}

function renderPeople() {
  const items = [...state.users.values()].map((user) => {
    const item = el('li');
    item.append(avatar(user), el('span', 'name', user.name));
    if (user.id === state.me?.id) item.append(el('span', 'you', '(you)'));
    return item;
  });
  ui.people.replaceChildren(...items);
  ui.peopleCount.textContent = String(state.users.size);
  updateEmptyState();
}

/** @param {User} user */
function startTyping(user) {
  const existing = state.typing.get(user.id);
  if (existing) clearTimeout(existing.timer);
  const timer = setTimeout(() => stopTyping(user.id), TYPING_SHOW_FOR_MS);
  state.typing.set(user.id, { name: user.name, timer });
  renderTyping();
}

/** @param {number} id */
function stopTyping(id) {
  const entry = state.typing.get(id);
  if (!entry) return;
  clearTimeout(entry.timer);
  state.typing.delete(id);
  renderTyping();
}

function clearTyping() {
  for (const id of [...state.typing.keys()]) stopTyping(id);
}

function renderTyping() {
  const names = [...state.typing.values()].map((entry) => entry.name);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  ui.typing.textContent = text;
}

// ---------------------------------------------------------------- composer

function wireComposer() {
  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    sendDraft();
  });
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendDraft();
    }
  });
  ui.input.addEventListener('input', () => {
    autosize();
    updateComposer();
    if (ui.input.value.trim() && state.me && Date.now() - state.lastTypingSent > TYPING_SEND_EVERY_MS) {
      state.lastTypingSent = Date.now();
      connection.send({ type: 'typing' });
    }
  });
}

function sendDraft() {
  const text = ui.input.value;
  if (!text.trim() || !canSend()) return;
  if (frameBytes(text) > state.limits.max_message_bytes) {
    updateComposer();
    return;
  }
  // Viewing older messages: go back to the latest, where this one will show.
  if (state.view.mode === 'window') jumpToLatest();
  if (!request({ kind: 'say', text }, { type: 'say', text })) {
    showComposerError('Not connected. Your message is kept; send it once the room is back.');
    return;
  }
  state.lastTypingSent = 0;
  ui.input.value = '';
  autosize();
  showComposerError('');
  updateComposer();
}

/**
 * Puts a message that was not sent back into the composer, before
 * anything typed since.
 * @param {string} text
 */
function restoreDraft(text) {
  const typed = ui.input.value;
  if (typed === text) return;
  ui.input.value = typed.trim() === '' ? text : `${text}\n${typed}`;
  autosize();
  updateComposer();
}

/** @returns {boolean} */
function canSend() {
  return connection?.state === 'connected' && state.me !== null;
}

/**
 * Size of the frame `say` would send, which is what the server limits.
 * @param {string} text
 * @returns {number}
 */
function frameBytes(text) {
  return new TextEncoder().encode(JSON.stringify({ type: 'say', text })).length;
}

/** @param {number} bytes */
function formatBytes(bytes) {
  return `${bytes.toLocaleString()} bytes`;
}

function updateComposer() {
  const limit = state.limits.max_message_bytes;
  const used = ui.input.value ? frameBytes(ui.input.value) : 0;
  const over = used > limit;
  ui.counter.hidden = used < limit * 0.8;
  ui.counter.textContent = over
    ? `${(used - limit).toLocaleString()} over the limit`
    : `${(limit - used).toLocaleString()} left`;
  ui.counter.classList.toggle('over', over);
  if (over) {
    showComposerError(`Too long: a message can be at most ${formatBytes(limit)}.`);
  } else if (ui.composerError.dataset.kind === 'limit') {
    showComposerError('');
  }
  if (over) ui.composerError.dataset.kind = 'limit';
  ui.send.disabled = !canSend() || over || !ui.input.value.trim();
  ui.input.placeholder = canSend() ? 'Write a message…' : 'Not connected: you can keep typing';
}

/** @param {string} text */
function showComposerError(text) {
  ui.composerError.textContent = text;
  delete ui.composerError.dataset.kind;
}

function autosize() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 192)}px`;
}

// ---------------------------------------------------------------- name dialog

function wireNameDialog() {
  ui.nameButton.addEventListener('click', () => openNameDialog(state.me ? 'rename' : 'join'));
  ui.nameCancel.addEventListener('click', () => closeNameDialog());
  ui.dialog.addEventListener('cancel', (event) => {
    // Without a name one cannot join, so the first prompt cannot be dismissed.
    if (state.dialogMode === 'join' && !state.me) event.preventDefault();
    else state.dialogMode = null;
  });
  ui.nameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = ui.nameInput.value.trim();
    if (!name) {
      showNameError('Please enter a name.');
      return;
    }
    showNameError('');
    if (state.dialogMode === 'rename' && state.me) {
      if (name === state.me.name) {
        closeNameDialog();
        return;
      }
      if (!request({ kind: 'rename' }, { type: 'rename', name })) showNameError('Not connected. Try again in a moment.');
      return;
    }
    state.wantedName = name;
    // If the socket is not open yet, onOpen will say hello with this name.
    if (!request({ kind: 'hello' }, { type: 'hello', name })) connection.ensureOpen();
  });
}

/** @param {'join' | 'rename'} mode */
function openNameDialog(mode) {
  state.dialogMode = mode;
  const renaming = mode === 'rename';
  ui.nameTitle.textContent = renaming ? 'Change your name' : 'Welcome to Hearth';
  ui.nameIntro.textContent = renaming ? 'Everyone will see your new name.' : 'Pick a name the others will see.';
  ui.nameSubmit.textContent = renaming ? 'Save' : 'Join';
  ui.nameCancel.hidden = !renaming;
  ui.nameInput.value = state.me?.name ?? state.wantedName ?? '';
  ui.nameInput.maxLength = state.limits.max_name_chars;
  showNameError('');
  if (!ui.dialog.open) ui.dialog.showModal();
  ui.nameInput.focus();
  ui.nameInput.select();
}

function closeNameDialog() {
  state.dialogMode = null;
  if (ui.dialog.open) ui.dialog.close();
  ui.input.focus();
}

/** @param {string} text */
function showNameError(text) {
  ui.nameError.textContent = text;
  ui.nameInput.setAttribute('aria-invalid', text ? 'true' : 'false');
}

// ---------------------------------------------------------------- scrolling

/** @returns {boolean} */
function isAtBottom() {
  return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 60;
}

function scrollToBottom() {
  ui.log.scrollTop = ui.log.scrollHeight;
  state.unseenBelow = 0;
  ui.newMessages.hidden = true;
}

function wireScrolling() {
  ui.log.addEventListener('scroll', () => {
    if (isAtBottom()) {
      state.unseenBelow = 0;
      ui.newMessages.hidden = true;
    }
    maybeLoadOlder();
  });
  ui.newMessages.addEventListener('click', () => {
    scrollToBottom();
    ui.input.focus();
  });
  ui.loadEarlier.addEventListener('click', () => {
    state.view.olderError = '';
    loadOlder();
  });
  ui.jumpLatest.addEventListener('click', () => {
    jumpToLatest();
    ui.input.focus();
  });
  // The log may have grown or shrunk (a narrow window turning wide): fill it.
  new ResizeObserver(() => maybeLoadOlder()).observe(ui.log);
}

// ---------------------------------------------------------------- attention

function wireAttention() {
  const seen = () => {
    if (document.hidden || !document.hasFocus()) return;
    state.unread = 0;
    setTitle(APP_TITLE);
  };
  document.addEventListener('visibilitychange', seen);
  window.addEventListener('focus', seen);
  ui.notifyButton.addEventListener('click', async () => {
    await Notification.requestPermission();
    ui.notifyButton.hidden = Notification.permission === 'default';
  });
}

/** @param {ChatMessage} message */
function drawAttention(message) {
  if (!document.hidden && document.hasFocus()) return;
  state.unread += 1;
  setTitle(`(${state.unread}) ${APP_TITLE}`);
  const body = message.text.length > 140 ? `${message.text.slice(0, 140)}…` : message.text;
  desktop
    .notify(message.from.name, body)
    .then((handled) => {
      if (!handled && 'Notification' in window && Notification.permission === 'granted') {
        new Notification(message.from.name, { body, tag: 'hearth' });
      }
    })
    .catch((error) => console.error('notification failed', error));
}

/** @param {string} title */
function setTitle(title) {
  document.title = title;
  desktop.setWindowTitle(title);
}

/** @param {string} text */
function announce(text) {
  const line = el('p', undefined, text);
  ui.announcer.append(line);
  // Keep the live region small; screen readers have already read old lines.
  while (ui.announcer.childElementCount > 5) ui.announcer.firstElementChild?.remove();
}

start().catch((error) => {
  console.error('Hearth failed to start', error);
  ui.statusText.textContent = 'Something went wrong starting Hearth; reload the page.';
});
