// @ts-check
/**
 * The unread marker: the last message seen is kept per room in
 * localStorage; on coming back (a new visit, or the page shown again after
 * being hidden) a "New since you were here" divider goes before the first
 * message from someone else not seen yet, with a button to jump to it
 * while it is out of view. The one owner of what was seen.
 * @module unread
 */

import { byId, el } from '../platform/dom.js';
import * as identity from '../room/identity.js';
import * as scroll from './scroll.js';

/** @typedef {import('./conversation.js').Conversation} Conversation */

const PREFIX = 'hearth.seen.';

const ui = {
  log: scroll.logElement(),
  button: /** @type {HTMLButtonElement} */ (byId('jump-unread')),
  divider: makeDivider(),
};

/** @type {Conversation} */
let conversation;
/** @type {(id: number) => void} */
let jumpTo = () => {};
/** @type {string | null} */
let room = null;
/** @type {number | null} the newest message seen (shown while the page was visible) */
let seen = null;
/** @type {number | null} the divider goes after this id: before the first unseen message */
let after = null;
/** @type {number | null} the newest message shown when the page was hidden */
let hiddenAt = null;
/** Joining a room whose welcome is not shown yet: nothing counts as seen until it is. */
let fresh = false;

function makeDivider() {
  const item = el('li', 'unread-divider');
  item.append(el('span', undefined, 'New since you were here'));
  return item;
}

/**
 * @param {{conversation: Conversation, jumpTo: (id: number) => void}} hooks
 *   `jumpTo`: shows message `id`, loading it if needed
 */
export function wire(hooks) {
  conversation = hooks.conversation;
  jumpTo = hooks.jumpTo;
  conversation.afterInsert = () => {
    if (fresh) return;
    if (after !== null) place();
    markSeen();
  };
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      hiddenAt = conversation.newest ?? seen;
      return;
    }
    const newest = conversation.newest;
    if (hiddenAt !== null && newest !== null && newest > hiddenAt && hasUnseenFromOthers(hiddenAt)) {
      after = hiddenAt;
      place();
    }
    hiddenAt = null;
    markSeen();
  });
  ui.log.addEventListener('scroll', updateButton, { passive: true });
  ui.button.addEventListener('click', () => {
    if (ui.divider.isConnected) {
      ui.divider.scrollIntoView({ block: 'start' });
      const first = ui.divider.nextElementSibling;
      if (first instanceof HTMLElement) {
        first.tabIndex = -1;
        first.focus({ preventScroll: true });
      }
    } else if (after !== null) {
      jumpTo(after);
    }
    ui.button.hidden = true;
  });
}

/**
 * Joining room `id` (its welcome is about to be shown).
 * @param {string} id
 */
export function joining(id) {
  if (room === id) return;
  room = id;
  seen = load(id);
  after = null;
  fresh = true;
}

/**
 * The welcome's messages are shown. On the first welcome of this page (or
 * of another room), what was not seen last time is marked.
 */
export function welcomed() {
  if (fresh) {
    fresh = false;
    if (seen !== null && hasUnseenFromOthers(seen)) after = seen;
  }
  place();
  markSeen();
}

/** The view starts over (another room, the host cleared it): no divider. */
export function reset() {
  after = null;
  conversation.removeNode(ui.divider);
  updateButton();
}

/**
 * Whether a message newer than `id` from someone else is shown.
 * @param {number} id
 */
function hasUnseenFromOthers(id) {
  if (conversation.newest === null || conversation.newest <= id) return false;
  if (conversation.oldest !== null && conversation.oldest > id) return true;
  for (const shown of conversation.ids()) {
    if (shown <= id) continue;
    const message = conversation.message(shown);
    if (message && !identity.isSelf(message.from)) return true;
  }
  return false;
}

/** Puts the divider before the first unseen message from someone else, if it is shown. */
function place() {
  if (after === null) {
    conversation.removeNode(ui.divider);
    updateButton();
    return;
  }
  const first = conversation.ids().find((id) => {
    if (id <= /** @type {number} */ (after)) return false;
    const message = conversation.message(id);
    return !!message && !identity.isSelf(message.from);
  });
  if (first === undefined) conversation.removeNode(ui.divider);
  else if (ui.divider.nextElementSibling !== conversation.element(first) || !ui.divider.isConnected) conversation.placeBefore(ui.divider, first);
  updateButton();
}

/** While the page is visible, the newest message shown counts as seen. */
function markSeen() {
  if (document.hidden || room === null) return;
  const newest = conversation.newest;
  if (newest === null || (seen !== null && newest <= seen)) return;
  seen = newest;
  store(room, newest);
}

/** "Jump to first unread" shows while the first unread message is above the view. */
function updateButton() {
  let show = false;
  if (after !== null) {
    if (ui.divider.isConnected) {
      show = ui.divider.getBoundingClientRect().bottom < ui.log.getBoundingClientRect().top;
    } else {
      show = conversation.oldest !== null && conversation.oldest > after;
    }
  }
  ui.button.hidden = !show;
}

/** Whether the divider is shown (for tests and the view). */
export function shown() {
  return ui.divider.isConnected;
}

/**
 * @param {string} id
 * @returns {number | null}
 */
function load(id) {
  try {
    const value = Number(localStorage.getItem(PREFIX + id));
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

/**
 * @param {string} id
 * @param {number} newest
 */
function store(id, newest) {
  try {
    localStorage.setItem(PREFIX + id, String(newest));
  } catch {
    // Storage disabled: the marker works for this page only.
  }
}
