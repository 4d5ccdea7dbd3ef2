// @ts-check
/**
 * The name prompt: picking a name to join, and changing it later. The one
 * owner of what the dialog is open for.
 * @module name-dialog
 */

import { byId } from '../platform/dom.js';
import * as identity from '../room/identity.js';
import * as session from '../room/session.js';

/** The elements this part of the page uses, looked up once it is mounted. */
function elements() {
  return {
    button: /** @type {HTMLButtonElement} */ (byId('name-button')),
    dialog: /** @type {HTMLDialogElement} */ (byId('name-dialog')),
    form: /** @type {HTMLFormElement} */ (byId('name-form')),
    title: byId('name-title'),
    intro: byId('name-intro'),
    input: /** @type {HTMLInputElement} */ (byId('name-input')),
    error: byId('name-error'),
    cancel: /** @type {HTMLButtonElement} */ (byId('name-cancel')),
    submit: /** @type {HTMLButtonElement} */ (byId('name-submit')),
  };
}

/** @type {ReturnType<typeof elements>} */
let ui;

/** @type {'join' | 'rename' | null} what the dialog is for */
let mode = null;
/** @type {() => void} */
let afterClose = () => {};
/** @type {() => number} */
let maxChars = () => 32;

/**
 * @param {{afterClose: () => void, maxChars: () => number}} hooks
 *   `afterClose`: where focus goes; `maxChars`: the longest name the room takes
 */
export function mount(hooks) {
  ui = elements();
  afterClose = hooks.afterClose;
  maxChars = hooks.maxChars;
  ui.button.addEventListener('click', () => open(identity.currentUser() ? 'rename' : 'join'));
  ui.cancel.addEventListener('click', () => close());
  ui.dialog.addEventListener('cancel', (event) => {
    // Without a name one cannot join, so the first prompt cannot be dismissed.
    if (mode === 'join' && !identity.currentUser()) event.preventDefault();
    else mode = null;
  });
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = ui.input.value.trim();
    if (!name) {
      showError('Please enter a name.');
      return;
    }
    showError('');
    const me = identity.currentUser();
    if (mode === 'rename' && me) {
      if (name === me.name) {
        close();
        return;
      }
      if (!session.request({ kind: 'rename' }, { type: 'rename', name })) showError('Not connected. Try again in a moment.');
      return;
    }
    identity.want(name);
    // If the socket is not open yet, the app says hello with this name once it is.
    if (!session.request({ kind: 'hello' }, { type: 'hello', name, key: identity.key() })) session.ensureOpen();
  });
}

/** What the dialog is open for, if it is. */
export function openFor() {
  return mode;
}

/** Whether the dialog has the page. */
export function isOpen() {
  return ui.dialog.open;
}

/** @param {'join' | 'rename'} purpose */
export function open(purpose) {
  mode = purpose;
  const renaming = purpose === 'rename';
  ui.title.textContent = renaming ? 'Change your name' : 'Welcome to Hearth';
  ui.intro.textContent = renaming ? 'Everyone will see your new name.' : 'Pick a name the others will see.';
  ui.submit.textContent = renaming ? 'Save' : 'Join';
  ui.cancel.hidden = !renaming;
  ui.input.value = identity.currentUser()?.name ?? identity.wanted() ?? '';
  ui.input.maxLength = maxChars();
  showError('');
  if (!ui.dialog.open) ui.dialog.showModal();
  ui.input.focus();
  ui.input.select();
}

export function close() {
  mode = null;
  if (ui.dialog.open) ui.dialog.close();
  afterClose();
}

/** @param {string} text */
export function showError(text) {
  ui.error.textContent = text;
  ui.input.setAttribute('aria-invalid', text ? 'true' : 'false');
}
