// @ts-check
/**
 * Hearth's chat page: joins the room, shows the conversation, and keeps
 * itself connected. Speaks protocol v1 (docs/protocol.md).
 * @module app
 */

import { JOIN_TIMEOUT_REASON, RoomConnection } from './connection.js';
import { avatar, el, formatTime, mentions, messageText, systemLine } from './render.js';
import * as desktop from './desktop.js';

/** @typedef {{id: number, name: string}} User */
/** @typedef {{id: number, from: User, text: string, ts: number}} ChatMessage */
/** @typedef {{max_message_bytes: number, max_name_chars: number}} Limits */

const NAME_KEY = 'hearth.name';
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOW_FOR_MS = 5000;
const GROUP_WITHIN_MS = 5 * 60 * 1000;
const APP_TITLE = 'Hearth';

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
  /** @type {string | null} id of the room run the shown messages belong to */
  room: null,
  /** @type {Set<number>} */
  shownIds: new Set(),
  /** @type {{userId: number, ts: number} | null} the group the next message may join */
  lastGroup: null,
  /** @type {Map<number, User>} */
  users: new Map(),
  /** @type {Map<number, {name: string, timer: ReturnType<typeof setTimeout>}>} */
  typing: new Map(),
  /** @type {Limits} */
  limits: { max_message_bytes: 16384, max_name_chars: 32 },
  /** @type {'join' | 'rename' | null} what the name dialog is for */
  dialogMode: /** @type {'join' | 'rename' | null} */ (null),
  /** @type {string | null} text sent but not yet echoed back */
  pendingSay: null,
  lastTypingSent: 0,
  unread: 0,
  unseenBelow: 0,
  address: '',
};

/** @type {RoomConnection} */
let connection;

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
  if (state.wantedName) connection.send({ type: 'hello', name: state.wantedName });
}

/** @param {CloseEvent} event */
function onClose(event) {
  state.me = null;
  clearTyping();
  if (event.code === 1009) {
    showComposerError(`That message was too long: the limit is ${formatBytes(state.limits.max_message_bytes)}.`);
    restorePending();
  } else if (event.code === 1008 && event.reason === JOIN_TIMEOUT_REASON) {
    // Nobody joined on this socket for a while; it reopens when someone does.
  } else if (event.code === 1008) {
    showComposerError('The room dropped this window for falling behind; reconnecting…');
  }
  updateComposer();
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
function onMessage(message) {
  switch (message.type) {
    case 'welcome':
      onWelcome(message);
      break;
    case 'message':
      onChatMessage(message, true);
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
 * @param {{room: string, you: User, users: User[], history: ChatMessage[], limits: Limits}} welcome
 */
function onWelcome(welcome) {
  if (state.room !== null && state.room !== welcome.room) {
    // The server restarted: its message ids started over.
    addSystem('The room restarted. Messages above are from before.', 'divider');
    state.shownIds.clear();
  }
  state.room = welcome.room;
  state.me = welcome.you;
  state.wantedName = welcome.you.name;
  saveName(welcome.you.name);
  state.limits = welcome.limits;
  state.users = new Map(welcome.users.map((user) => [user.id, user]));
  for (const message of welcome.history) onChatMessage(message, false);
  if (state.dialogMode === 'join') closeNameDialog();
  showMe();
  renderPeople();
  updateComposer();
  updateEmptyState();
}

/**
 * @param {User} user
 * @param {string} previous
 */
function onRenamed(user, previous) {
  state.users.set(user.id, user);
  if (user.id === state.me?.id) {
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
 * @param {string} code
 * @param {string} text
 */
function onServerError(code, text) {
  switch (code) {
    case 'name_taken':
    case 'invalid_name':
      if (!state.dialogMode) openNameDialog(state.me ? 'rename' : 'join');
      showNameError(code === 'name_taken' ? 'Someone here already has that name. Try another.' : text);
      break;
    case 'rate_limited':
      showComposerError('You are sending messages too quickly. Wait a moment, then send again.');
      restorePending();
      break;
    default:
      showComposerError(text);
  }
}

// ---------------------------------------------------------------- messages

/**
 * @param {ChatMessage} message
 * @param {boolean} live false for history replayed on join
 */
function onChatMessage(message, live) {
  if (state.shownIds.has(message.id)) return;
  state.shownIds.add(message.id);
  const mine = message.from.id === state.me?.id;
  if (mine && message.text === state.pendingSay) state.pendingSay = null;
  stopTyping(message.from.id);

  const wasAtBottom = isAtBottom();
  ui.messages.append(renderMessage(message, mine));
  updateEmptyState();
  if (wasAtBottom || mine) {
    scrollToBottom();
  } else {
    state.unseenBelow += 1;
    ui.newMessages.textContent = `${state.unseenBelow} new message${state.unseenBelow === 1 ? '' : 's'} ↓`;
    ui.newMessages.hidden = false;
  }
  if (live && !mine) {
    announce(`${message.from.name}: ${message.text.slice(0, 200)}`);
    drawAttention(message);
  }
}

/**
 * @param {ChatMessage} message
 * @param {boolean} mine
 * @returns {HTMLLIElement}
 */
function renderMessage(message, mine) {
  const grouped =
    state.lastGroup !== null &&
    state.lastGroup.userId === message.from.id &&
    message.ts - state.lastGroup.ts < GROUP_WITHIN_MS;
  state.lastGroup = { userId: message.from.id, ts: message.ts };

  const item = el('li', 'msg');
  item.dataset.id = String(message.id);
  if (!grouped) item.classList.add('first');
  if (mine) item.classList.add('mine');
  if (!mine && mentions(message.text, state.me?.name ?? null)) item.classList.add('mentions-me');

  const meta = el('div', 'meta');
  meta.append(el('span', 'who', mine ? `${message.from.name} (you)` : message.from.name));
  const time = el('time', undefined, formatTime(message.ts));
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
  const wasAtBottom = isAtBottom();
  ui.messages.append(systemLine(text, extraClass));
  state.lastGroup = null;
  if (wasAtBottom) scrollToBottom();
  updateEmptyState();
}

function updateEmptyState() {
  const alone = state.users.size <= 1;
  ui.emptyState.hidden = !(alone && state.shownIds.size === 0);
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
  if (!connection.send({ type: 'say', text })) {
    showComposerError('Not connected. Your message is kept; send it once the room is back.');
    return;
  }
  state.pendingSay = text;
  state.lastTypingSent = 0;
  ui.input.value = '';
  autosize();
  showComposerError('');
  updateComposer();
}

/** Puts an unsent message back into an empty composer. */
function restorePending() {
  if (state.pendingSay !== null && ui.input.value === '') {
    ui.input.value = state.pendingSay;
    autosize();
  }
  state.pendingSay = null;
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
      if (!connection.send({ type: 'rename', name })) showNameError('Not connected. Try again in a moment.');
      return;
    }
    state.wantedName = name;
    // If the socket is not open yet, onOpen will say hello with this name.
    if (!connection.send({ type: 'hello', name })) connection.ensureOpen();
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
  });
  ui.newMessages.addEventListener('click', () => {
    scrollToBottom();
    ui.input.focus();
  });
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
