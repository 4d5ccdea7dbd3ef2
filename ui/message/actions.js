// @ts-check
/**
 * What a person does to a message: the actions of its toolbar (Reply,
 * React, Edit, Delete), a click on its quote or on a reaction, the inline
 * editor (Enter saves, Escape cancels), the delete confirmation, and moving
 * between messages with the arrow keys (a message with focus shows its
 * actions; Tab reaches them). The one owner of which message is being
 * edited.
 * @module message-actions
 */

import * as desktop from '../platform/desktop.js';
import { byId, el } from '../platform/dom.js';
import * as identity from '../room/identity.js';
import { canDelete, canEdit, onRender } from './view.js';
import * as reactions from './reactions.js';
import * as session from '../room/session.js';

/** @typedef {import('../timeline/conversation.js').ChatMessage} ChatMessage */
/** @typedef {import('../timeline/conversation.js').Conversation} Conversation */

/**
 * @typedef {object} ActionHooks
 * @property {Conversation} conversation the shown messages
 * @property {(message: ChatMessage) => void} reply starts a reply to it in the composer
 * @property {(id: number) => void} jumpTo shows message `id` (a quote's original)
 * @property {() => void} focusComposer
 * @property {(text: string) => void} showError says why something failed, by the composer
 * @property {() => number} maxMessageBytes the largest frame the room takes
 * @property {HTMLElement} log the scrolling log the messages are in
 */

/** The elements this part of the page uses, looked up once it is mounted. */
function elements() {
  return {
    deleteDialog: /** @type {HTMLDialogElement} */ (byId('delete-dialog')),
    deleteText: byId('delete-text'),
    deleteConfirm: /** @type {HTMLButtonElement} */ (byId('delete-confirm')),
  };
}

/** @type {ReturnType<typeof elements> & {log: HTMLElement, list: HTMLOListElement}} */
let ui;

/** @type {ActionHooks} */
let hooks;
/** @type {{id: number, form: HTMLFormElement, input: HTMLTextAreaElement, error: HTMLElement} | null} */
let editing = null;
/** @type {number | null} the message the delete confirmation is for */
let deleting = null;

/** @param {ActionHooks} given */
export function mount(given) {
  hooks = given;
  ui = { ...elements(), log: given.log, list: given.conversation.list };
  reactions.mount({ toggle: react });
  // A message being edited keeps its editor when it is built again.
  onRender((item, message) => {
    if (editing?.id !== message.id) return;
    if (!canEdit(message)) {
      editing = null;
      return;
    }
    item.querySelector('.text')?.replaceWith(editing.form);
    item.classList.add('editing');
  });
  ui.list.addEventListener('click', onClick);
  ui.log.addEventListener('keydown', onKeydown);
  ui.deleteDialog.addEventListener('close', onDeleteClosed);
}

/** @param {MouseEvent} event */
function onClick(event) {
  const target = /** @type {Element} */ (event.target);
  const item = target.closest('li.msg');
  if (!(item instanceof HTMLLIElement)) return;
  const id = Number(item.dataset.id);
  const message = hooks.conversation.message(id);
  if (!message) return;
  const action = target.closest('button[data-action]');
  if (action instanceof HTMLButtonElement) {
    switch (action.dataset.action) {
      case 'reply':
        hooks.reply(message);
        break;
      case 'react':
        reactions.openPalette(item, id);
        break;
      case 'edit':
        startEdit(id);
        break;
      case 'delete':
        confirmDelete(message);
        break;
    }
    return;
  }
  const quote = target.closest('button.quote');
  if (quote instanceof HTMLButtonElement) {
    hooks.jumpTo(Number(quote.dataset.ref));
    return;
  }
  const chip = target.closest('button.chip');
  if (chip instanceof HTMLButtonElement && chip.dataset.emoji) react(id, chip.dataset.emoji);
}

/**
 * Arrow keys move between messages when the log or a message has focus;
 * Escape goes back to the message box.
 * @param {KeyboardEvent} event
 */
function onKeydown(event) {
  const target = /** @type {Element} */ (event.target);
  const onLog = target === ui.log;
  const onItem = target instanceof HTMLLIElement && target.classList.contains('msg');
  if (!onLog && !onItem) return;
  if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
  /** @type {HTMLElement | null} */
  let next = null;
  if (event.key === 'ArrowUp' || event.key === 'ArrowDown') {
    const up = event.key === 'ArrowUp';
    if (onItem) next = sibling(/** @type {HTMLElement} */ (target), up);
    else next = up ? lastInView() : firstInView();
  } else if (onItem && event.key === 'Home') {
    next = /** @type {HTMLElement | null} */ (ui.list.querySelector('li.msg'));
  } else if (onItem && event.key === 'End') {
    next = /** @type {HTMLElement | null} */ ([...ui.list.querySelectorAll('li.msg')].at(-1) ?? null);
  } else if (onItem && event.key === 'Escape') {
    event.preventDefault();
    hooks.focusComposer();
    return;
  } else {
    return;
  }
  event.preventDefault();
  if (next) focusItem(next);
}

/**
 * The message above or below `item`, skipping system lines.
 * @param {HTMLElement} item
 * @param {boolean} up
 * @returns {HTMLElement | null}
 */
function sibling(item, up) {
  let node = up ? item.previousElementSibling : item.nextElementSibling;
  while (node && !node.classList.contains('msg')) node = up ? node.previousElementSibling : node.nextElementSibling;
  return /** @type {HTMLElement | null} */ (node);
}

/** The lowest message at least partly in view. */
function lastInView() {
  const bottom = ui.log.getBoundingClientRect().bottom;
  const items = [...ui.list.querySelectorAll('li.msg')];
  for (let i = items.length - 1; i >= 0; i -= 1) {
    if (items[i].getBoundingClientRect().top < bottom) return /** @type {HTMLElement} */ (items[i]);
  }
  return /** @type {HTMLElement | null} */ (items[0] ?? null);
}

/** The highest message at least partly in view. */
function firstInView() {
  const top = ui.log.getBoundingClientRect().top;
  for (const item of ui.list.querySelectorAll('li.msg')) {
    if (item.getBoundingClientRect().bottom > top) return /** @type {HTMLElement} */ (item);
  }
  return null;
}

/** @param {HTMLElement} item */
function focusItem(item) {
  item.tabIndex = -1;
  item.focus({ preventScroll: true });
  item.scrollIntoView({ block: 'nearest' });
}

/**
 * Adds or takes back my reaction.
 * @param {number} id
 * @param {string} emoji
 */
function react(id, emoji) {
  if (!session.request({ kind: 'react', id, emoji }, { type: 'react', id, emoji })) {
    hooks.showError('Not connected. Try again once the room is back.');
  }
}

// ---------------------------------------------------------------- editing

/**
 * Edits my last message (ArrowUp in an empty message box).
 * @returns {boolean} whether there was one
 */
export function editLast() {
  const items = [...ui.list.querySelectorAll('li.msg.mine:not(.deleted)')];
  for (let i = items.length - 1; i >= 0; i -= 1) {
    const id = Number(/** @type {HTMLElement} */ (items[i]).dataset.id);
    const message = hooks.conversation.message(id);
    if (message && canEdit(message)) {
      startEdit(id);
      return true;
    }
  }
  return false;
}

/**
 * Opens the inline editor on message `id`, with `text` (its own by default).
 * @param {number} id
 * @param {string} [text]
 */
export function startEdit(id, text) {
  const message = hooks.conversation.message(id);
  const item = hooks.conversation.element(id);
  if (!message || !item || !canEdit(message)) return;
  if (editing) cancelEdit(false);
  reactions.close(false);
  const form = el('form', 'editor');
  const label = el('label', 'visually-hidden', 'Edit message');
  const input = el('textarea', 'editor-input');
  input.id = 'editor-input';
  label.htmlFor = input.id;
  input.value = text ?? message.text;
  input.rows = Math.min(8, Math.max(1, input.value.split('\n').length));
  input.setAttribute('aria-describedby', 'editor-hint editor-error');
  const hint = el('p', 'editor-hint', 'Enter to save · Shift+Enter for a new line · Escape to cancel');
  hint.id = 'editor-hint';
  const error = el('p', 'editor-error');
  error.id = 'editor-error';
  error.setAttribute('role', 'alert');
  const cancel = el('button', 'ghost', 'Cancel');
  cancel.type = 'button';
  const save = el('button', 'primary', 'Save');
  save.type = 'submit';
  const buttons = el('div', 'editor-actions');
  buttons.append(cancel, save);
  form.append(label, input, hint, error, buttons);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    saveEdit();
  });
  cancel.addEventListener('click', () => cancelEdit(true));
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      saveEdit();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      cancelEdit(true);
    }
  });
  editing = { id, form, input, error };
  const shown = item.querySelector('.text');
  if (shown) shown.replaceWith(form);
  else {
    const next = item.querySelector('.files, .reactions');
    if (next) next.before(form);
    else item.append(form);
  }
  item.classList.add('editing');
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
  form.scrollIntoView({ block: 'nearest' });
}

/** Which message is being edited, if any. */
export function editingId() {
  return editing?.id ?? null;
}

function saveEdit() {
  if (!editing) return;
  const { id, input } = editing;
  const message = hooks.conversation.message(id);
  if (!message) {
    cancelEdit(true);
    return;
  }
  const text = input.value;
  if (text === message.text) {
    cancelEdit(true);
    return;
  }
  if (!text.trim() && !message.files?.length) {
    showEditError('A message needs some text. To remove it, delete it instead.');
    return;
  }
  const frame = { type: 'edit', id, text };
  if (new TextEncoder().encode(JSON.stringify(frame)).length > hooks.maxMessageBytes()) {
    showEditError(`Too long: a message can be at most ${hooks.maxMessageBytes().toLocaleString()} bytes.`);
    return;
  }
  if (!session.request({ kind: 'edit', id, text }, frame)) {
    showEditError('Not connected. Your edit is kept; save it once the room is back.');
    return;
  }
  cancelEdit(true);
}

/** @param {string} text */
function showEditError(text) {
  if (editing) editing.error.textContent = text;
}

/**
 * Closes the editor, showing the message as it is.
 * @param {boolean} refocus give focus back to the message
 */
export function cancelEdit(refocus) {
  if (!editing) return;
  const { id } = editing;
  editing = null;
  const item = hooks.conversation.rerender(id);
  item?.classList.remove('editing');
  if (refocus && item) focusItem(item);
}

// ---------------------------------------------------------------- deleting

/**
 * Asks before deleting a message (mine, or anyone's as the host).
 * @param {ChatMessage} message
 */
function confirmDelete(message) {
  if (!canDelete(message)) return;
  deleting = message.id;
  const mine = identity.isSelf(message.from);
  ui.deleteText.textContent = mine
    ? 'Delete this message for everyone? This cannot be undone.'
    : `Delete this message by ${message.from.name} for everyone? As the host you can; it cannot be undone.`;
  ui.deleteDialog.returnValue = '';
  ui.deleteDialog.showModal();
  byId('delete-cancel').focus();
}

function onDeleteClosed() {
  const id = deleting;
  deleting = null;
  if (id === null) return;
  const message = hooks.conversation.message(id);
  const item = hooks.conversation.element(id);
  if (ui.deleteDialog.returnValue !== 'delete' || !message) {
    if (item) /** @type {HTMLElement | null} */ (item.querySelector('[data-action="delete"]'))?.focus();
    return;
  }
  if (item) focusItem(item);
  if (identity.isSelf(message.from)) {
    if (!session.request({ kind: 'delete', id }, { type: 'delete', id })) hooks.showError('Not connected. Try again once the room is back.');
  } else {
    desktop.deleteMessage(id).catch((reason) => {
      hooks.showError(`The message could not be deleted: ${typeof reason === 'string' ? reason : String(reason)}`);
    });
  }
}

/** Whether the delete confirmation has the page. */
export function dialogOpen() {
  return ui.deleteDialog.open;
}
