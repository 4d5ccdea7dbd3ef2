// @ts-check
/**
 * The message box: typing, sending, the size limit and its counter, the
 * message being replied to, the errors about what was sent, and drafts
 * that come back when a message could not be sent. The one owner of the
 * draft and of what it replies to (its files are uploads.js's).
 * @module composer
 */

import { byId } from '../platform/dom.js';
import * as identity from '../room/identity.js';
import { summary } from '../message/view.js';
import * as session from '../room/session.js';
import * as uploads from './uploads.js';

/**
 * @typedef {{max_message_bytes: number, max_name_chars: number, max_upload_bytes?: number,
 *   max_files?: number}} Limits
 */
/** @typedef {import('../timeline/conversation.js').ChatMessage} ChatMessage */
/** @typedef {import('../timeline/conversation.js').Quote} Quote */
/** @typedef {import('../timeline/conversation.js').FileInfo} FileInfo */

const TYPING_SEND_EVERY_MS = 3000;

/** The elements this part of the page uses, looked up once it is mounted. */
function elements() {
  return {
    form: /** @type {HTMLFormElement} */ (byId('composer')),
    input: /** @type {HTMLTextAreaElement} */ (byId('composer-input')),
    send: /** @type {HTMLButtonElement} */ (byId('send-button')),
    counter: byId('counter'),
    error: byId('composer-error'),
    replyBar: byId('reply-bar'),
    replyWho: byId('reply-who'),
    replyText: byId('reply-text'),
    replyCancel: /** @type {HTMLButtonElement} */ (byId('reply-cancel')),
    waiting: byId('composer-waiting'),
  };
}

/** @type {ReturnType<typeof elements>} */
let ui;

/** @type {Limits} */
let limits = { max_message_bytes: 16384, max_name_chars: 32 };
let lastTypingSent = 0;
/** @type {Quote | null} the message the draft answers */
let replyTo = null;
/** @type {() => void} */
let backToLatest = () => {};
/** @type {() => boolean} */
let editLast = () => false;

/** The limits the room announced. */
export function currentLimits() {
  return limits;
}

/** @param {Limits} announced */
export function setLimits(announced) {
  limits = announced;
  uploads.setLimits(announced.max_upload_bytes, announced.max_files);
  update();
}

/**
 * @param {{editLast: () => boolean, backToLatest: () => void}} hooks `editLast`: edits my
 *   last message (ArrowUp in an empty box); `backToLatest`: shows the latest messages, where
 *   what is sent will show, if the reader views older ones
 */
export function mount(hooks) {
  ui = elements();
  editLast = hooks.editLast;
  backToLatest = hooks.backToLatest;
  uploads.mount({ showError, changed: update });
  ui.replyCancel.addEventListener('click', () => {
    setReply(null);
    ui.input.focus();
  });
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    sendDraft();
  });
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendDraft();
    } else if (event.key === 'Escape' && replyTo) {
      event.preventDefault();
      setReply(null);
    } else if (event.key === 'ArrowUp' && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey
      && ui.input.value === '' && !replyTo && !uploads.any()) {
      if (editLast()) event.preventDefault();
    }
  });
  // A narrower or wider window wraps the draft differently.
  window.addEventListener('resize', () => {
    if (ui.input.value) autosize();
  });
  ui.input.addEventListener('input', () => {
    autosize();
    update();
    if (ui.input.value.trim() && identity.currentUser() && Date.now() - lastTypingSent > TYPING_SEND_EVERY_MS) {
      lastTypingSent = Date.now();
      session.send({ type: 'typing' });
    }
  });
  update();
}

export function focus() {
  ui.input.focus();
}

/** Whether the box has nothing in it. */
export function isEmpty() {
  return ui.input.value === '' && !replyTo && !uploads.any();
}

function sendDraft() {
  const text = ui.input.value;
  if ((!text.trim() && !uploads.any()) || !canSend()) return;
  if (frameBytes() > limits.max_message_bytes) {
    update();
    return;
  }
  if (uploads.busy()) {
    // Sent once the files are up; the text stays editable meanwhile.
    uploads.whenReady(() => {
      update();
      sendDraft();
    });
    update();
    return;
  }
  const files = uploads.ready();
  const reply = replyTo;
  /** @type {{type: 'say', text: string, reply_to?: number, files?: string[]}} */
  const frame = { type: 'say', text };
  if (reply) frame.reply_to = reply.id;
  if (files.length > 0) frame.files = files.map((file) => file.id);
  // Viewing older messages: go back to the latest, where this one will show.
  backToLatest();
  if (!session.request({ kind: 'say', text, replyTo: reply, files }, frame)) {
    showError('Not connected. Your message is kept; send it once the room is back.');
    return;
  }
  lastTypingSent = 0;
  ui.input.value = '';
  uploads.clear();
  setReply(null);
  autosize();
  showError('');
  update();
}

/**
 * Starts a reply to `message` (or stops replying, with null).
 * @param {ChatMessage | Quote | null} message
 */
export function setReply(message) {
  replyTo = message
    ? { id: message.id, from: message.from, excerpt: 'excerpt' in message ? message.excerpt : summary(message, 100) }
    : null;
  ui.replyBar.hidden = !replyTo;
  ui.input.setAttribute('aria-describedby', replyTo ? 'reply-bar composer-hint composer-error' : 'composer-hint composer-error');
  ui.replyWho.textContent = replyTo ? replyTo.from.name : '';
  ui.replyText.textContent = replyTo ? replyTo.excerpt || '(files)' : '';
  update();
}

/**
 * Replies to `message`: the bar above the box says so, and the box has focus.
 * @param {ChatMessage} message
 */
export function reply(message) {
  setReply(message);
  ui.input.focus();
}

/** The message the draft replies to, if any. */
export function replyingTo() {
  return replyTo;
}

/**
 * What a refused message replied to and carried, back in the composer
 * (unless the draft has its own by now).
 * @param {Quote | null | undefined} reply
 * @param {FileInfo[] | undefined} files
 */
export function restoreExtras(reply, files) {
  if (reply && !replyTo) setReply(reply);
  if (files?.length) uploads.restore(files);
}

/**
 * Puts a message that was not sent back into the composer, before
 * anything typed since.
 * @param {string} text
 */
export function restoreDraft(text) {
  const typed = ui.input.value;
  if (typed === text) return;
  ui.input.value = typed.trim() === '' ? text : `${text}\n${typed}`;
  autosize();
  update();
}

/**
 * What the message box says: what is really missing before a message can go.
 * @returns {string}
 */
function placeholder() {
  if (canSend()) return 'Write a message…';
  if (identity.currentUser() === null) return 'Pick a name to join the room';
  return 'Not connected: you can keep typing';
}

/** @returns {boolean} */
function canSend() {
  return session.isOpen() && identity.currentUser() !== null;
}

/**
 * Size of the frame `say` would send, which is what the server limits.
 * @returns {number}
 */
function frameBytes() {
  const frame = { type: 'say', text: ui.input.value, reply_to: replyTo?.id, files: uploads.ready().map((file) => file.id) };
  return new TextEncoder().encode(JSON.stringify(frame)).length;
}

/** @param {number} bytes */
export function formatBytes(bytes) {
  return `${bytes.toLocaleString()} bytes`;
}

/** Shows what can be sent now: the counter near the limit, the Send button, the placeholder. */
export function update() {
  const limit = limits.max_message_bytes;
  const used = ui.input.value ? frameBytes() : 0;
  const over = used > limit;
  ui.counter.hidden = used < limit * 0.8;
  ui.counter.textContent = over
    ? `${(used - limit).toLocaleString()} over the limit`
    : `${(limit - used).toLocaleString()} left`;
  ui.counter.classList.toggle('over', over);
  if (over) {
    showError(`Too long: a message can be at most ${formatBytes(limit)}.`);
  } else if (ui.error.dataset.kind === 'limit') {
    showError('');
  }
  if (over) ui.error.dataset.kind = 'limit';
  ui.send.disabled = !canSend() || over || (!ui.input.value.trim() && !uploads.any());
  ui.waiting.textContent = uploads.waiting() ? 'Sending once the files are uploaded…' : '';
  ui.input.placeholder = placeholder();
}

/** @param {string} text why the last message was not sent, or '' */
export function showError(text) {
  ui.error.textContent = text;
  delete ui.error.dataset.kind;
}

function autosize() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 2, 192)}px`;
}
