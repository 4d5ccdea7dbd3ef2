// @ts-check
/**
 * The message box: typing, sending, the size limit and its counter, the
 * errors about what was sent, and drafts that come back when a message
 * could not be sent. The one owner of the draft.
 * @module composer
 */

import { byId } from './dom.js';
import * as identity from './identity.js';
import * as session from './session.js';
import * as timeline from './timeline.js';

/** @typedef {{max_message_bytes: number, max_name_chars: number}} Limits */

const TYPING_SEND_EVERY_MS = 3000;

const ui = {
  form: /** @type {HTMLFormElement} */ (byId('composer')),
  input: /** @type {HTMLTextAreaElement} */ (byId('composer-input')),
  send: /** @type {HTMLButtonElement} */ (byId('send-button')),
  counter: byId('counter'),
  error: byId('composer-error'),
};

/** @type {Limits} */
let limits = { max_message_bytes: 16384, max_name_chars: 32 };
let lastTypingSent = 0;

/** The limits the room announced. */
export function currentLimits() {
  return limits;
}

/** @param {Limits} announced */
export function setLimits(announced) {
  limits = announced;
  update();
}

export function wire() {
  ui.form.addEventListener('submit', (event) => {
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

function sendDraft() {
  const text = ui.input.value;
  if (!text.trim() || !canSend()) return;
  if (frameBytes(text) > limits.max_message_bytes) {
    update();
    return;
  }
  // Viewing older messages: go back to the latest, where this one will show.
  if (timeline.isAway()) timeline.jumpToLatest();
  if (!session.request({ kind: 'say', text }, { type: 'say', text })) {
    showError('Not connected. Your message is kept; send it once the room is back.');
    return;
  }
  lastTypingSent = 0;
  ui.input.value = '';
  autosize();
  showError('');
  update();
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

/** @returns {boolean} */
function canSend() {
  return session.isOpen() && identity.currentUser() !== null;
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
export function formatBytes(bytes) {
  return `${bytes.toLocaleString()} bytes`;
}

/** Shows what can be sent now: the counter near the limit, the Send button, the placeholder. */
export function update() {
  const limit = limits.max_message_bytes;
  const used = ui.input.value ? frameBytes(ui.input.value) : 0;
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
  ui.send.disabled = !canSend() || over || !ui.input.value.trim();
  ui.input.placeholder = canSend() ? 'Write a message…' : 'Not connected: you can keep typing';
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
