// @ts-check
/**
 * Reactions: the palette a message's React action opens (common emoji and
 * a field for any single one), toggling mine, and keeping a message's
 * reactions current as `reaction` frames come. The one owner of which
 * message the palette is open for.
 * @module reactions
 */

import { byId } from '../platform/dom.js';
import * as identity from '../room/identity.js';
import { onRender } from './view.js';

/** @typedef {import('../timeline/conversation.js').ChatMessage} ChatMessage */
/** @typedef {import('../room/identity.js').User} User */

/** The elements this part of the page uses, looked up once it is mounted. */
function elements() {
  return {
    palette: byId('reaction-palette'),
    form: /** @type {HTMLFormElement} */ (byId('reaction-form')),
    input: /** @type {HTMLInputElement} */ (byId('reaction-input')),
    error: byId('reaction-error'),
  };
}

/** @type {ReturnType<typeof elements>} */
let ui;

/** @type {number | null} the message the palette is open for */
let openFor = null;
/** @type {(id: number, emoji: string) => void} */
let toggle = () => {};

/** @param {{toggle: (id: number, emoji: string) => void}} hooks `toggle`: adds or takes back my reaction */
export function mount(hooks) {
  ui = elements();
  toggle = hooks.toggle;
  // A message built again (it changed) while its palette is open keeps it.
  onRender((item, message) => {
    if (openFor !== message.id) return;
    item.append(ui.palette);
    item.querySelector('[data-action="react"]')?.setAttribute('aria-expanded', 'true');
    item.classList.add('active');
  });
  ui.palette.addEventListener('click', (event) => {
    const button = /** @type {Element} */ (event.target).closest('button.palette-emoji');
    if (!(button instanceof HTMLButtonElement) || openFor === null) return;
    choose(openFor, button.dataset.emoji ?? '');
  });
  ui.palette.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close(true);
      return;
    }
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    const buttons = [...ui.palette.querySelectorAll('button.palette-emoji')];
    const index = buttons.indexOf(/** @type {Element} */ (document.activeElement));
    if (index === -1) return;
    event.preventDefault();
    const next = buttons[(index + (event.key === 'ArrowRight' ? 1 : buttons.length - 1)) % buttons.length];
    /** @type {HTMLElement} */ (next).focus();
  });
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (openFor === null) return;
    const emoji = ui.input.value.trim();
    if (!isSingleEmoji(emoji)) {
      showError('Type one emoji, like 🚀');
      return;
    }
    choose(openFor, emoji);
  });
  ui.input.addEventListener('input', () => showError(''));
  // A click anywhere else closes it.
  document.addEventListener('pointerdown', (event) => {
    if (openFor === null) return;
    const target = /** @type {Element} */ (event.target);
    if (ui.palette.contains(target) || target.closest?.('[data-action="react"]')) return;
    close(false);
  });
}

/**
 * Opens the palette under message `id` (or closes it if it is open there).
 * @param {HTMLLIElement} item
 * @param {number} id
 */
export function openPalette(item, id) {
  if (openFor === id) {
    close(true);
    return;
  }
  close(false);
  openFor = id;
  ui.input.value = '';
  showError('');
  item.append(ui.palette);
  item.classList.add('active');
  ui.palette.hidden = false;
  item.querySelector('[data-action="react"]')?.setAttribute('aria-expanded', 'true');
  /** @type {HTMLElement | null} */ (ui.palette.querySelector('button.palette-emoji'))?.focus();
}

/** Whether the palette is open, and for which message. */
export function paletteFor() {
  return openFor;
}

/**
 * Closes the palette.
 * @param {boolean} refocus give focus back to the React button it came from
 */
export function close(refocus) {
  if (openFor === null) return;
  const item = ui.palette.closest('li.msg');
  openFor = null;
  ui.palette.hidden = true;
  item?.classList.remove('active');
  const button = /** @type {HTMLElement | null | undefined} */ (item?.querySelector('[data-action="react"]'));
  button?.setAttribute('aria-expanded', 'false');
  // Park it outside the conversation, where clearing the list cannot take it.
  document.body.append(ui.palette);
  if (refocus) button?.focus();
}

/**
 * @param {number} id
 * @param {string} emoji
 */
function choose(id, emoji) {
  if (!emoji) return;
  close(true);
  toggle(id, emoji);
}

/** @param {string} text */
function showError(text) {
  ui.error.textContent = text;
  ui.input.setAttribute('aria-invalid', text ? 'true' : 'false');
}

const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;

/**
 * Whether `text` is exactly one emoji (one grapheme that is a pictograph,
 * a flag, or a keycap). The room checks too (`invalid_emoji`).
 * @param {string} text
 */
export function isSingleEmoji(text) {
  if (!text || text.length > 32) return false;
  const segments = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)];
  if (segments.length !== 1) return false;
  return PICTOGRAPH.test(text) || /^[#*0-9]\uFE0F?\u20E3$/u.test(text);
}

/**
 * Applies a `reaction` frame to a message's data.
 * @param {ChatMessage} message
 * @param {string} emoji
 * @param {User} user
 * @param {boolean} added
 */
export function apply(message, emoji, user, added) {
  const reactions = (message.reactions ??= []);
  const same = (/** @type {User} */ other) => (user.uid !== undefined && other.uid !== undefined ? other.uid === user.uid : other.id === user.id);
  let entry = reactions.find((reaction) => reaction.emoji === emoji);
  if (added) {
    if (!entry) {
      entry = { emoji, users: [] };
      reactions.push(entry);
    }
    if (!entry.users.some(same)) entry.users.push(user);
  } else if (entry) {
    entry.users = entry.users.filter((other) => !same(other));
    if (entry.users.length === 0) reactions.splice(reactions.indexOf(entry), 1);
  }
}

/**
 * Whether I am among those who reacted to `message` with `emoji`.
 * @param {ChatMessage} message
 * @param {string} emoji
 */
export function reacted(message, emoji) {
  return (message.reactions ?? []).some((reaction) => reaction.emoji === emoji && reaction.users.some((user) => identity.isSelf(user)));
}
