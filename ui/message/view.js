// @ts-check
/**
 * One chat message as the conversation shows it: avatar, author and time,
 * the quote of what it replies to, the formatted text (or that it was
 * deleted), its files, its reactions, and the actions on it (Reply, React,
 * Edit, Delete), shown on hover or when the message has focus.
 *
 * Other modules add to an item as it is built (see `onRender`): the inline
 * editor and the reaction palette stay in place when a message is built
 * again after a change.
 * @module message-view
 */

import * as desktop from '../platform/desktop.js';
import { el } from '../platform/dom.js';
import { renderFiles } from './files.js';
import { mentions, messageText, oneLine, plainText } from './format.js';
import * as identity from '../room/identity.js';
import { avatar, formatTime, formatWhen } from './render.js';

/** @typedef {import('../timeline/conversation.js').ChatMessage} ChatMessage */
/** @typedef {import('../timeline/conversation.js').Reaction} Reaction */
/** @typedef {import('../timeline/conversation.js').Quote} Quote */
/** @typedef {'reply' | 'react' | 'edit' | 'delete'} Action */

/** @type {((item: HTMLLIElement, message: ChatMessage) => void)[]} */
const hooks = [];

/**
 * Runs `hook` on every message item built from now on.
 * @param {(item: HTMLLIElement, message: ChatMessage) => void} hook
 */
export function onRender(hook) {
  hooks.push(hook);
}

/**
 * Whether I may delete this message: my own, or any as the host in the
 * desktop window.
 * @param {ChatMessage} message
 */
export function canDelete(message) {
  return !message.deleted && (identity.isSelf(message.from) || desktop.isDesktop());
}

/**
 * Whether I may edit this message: my own, with text.
 * @param {ChatMessage} message
 */
export function canEdit(message) {
  return !message.deleted && identity.isSelf(message.from);
}

/**
 * @param {ChatMessage} message
 * @returns {HTMLLIElement}
 */
export function renderMessage(message) {
  const mine = identity.isSelf(message.from);
  const myName = identity.myName();
  const item = el('li', 'msg');
  item.dataset.id = String(message.id);
  // Focusable (not in the Tab order): arrow keys move between messages, and
  // a tap on a touch screen shows the message's actions.
  item.tabIndex = -1;
  if (mine) item.classList.add('mine');
  if (message.deleted) item.classList.add('deleted');
  else if (!mine && mentions(message.text, myName)) item.classList.add('mentions-me');

  const meta = el('div', 'meta');
  meta.append(el('span', 'who', mine ? `${message.from.name} (you)` : message.from.name));
  const time = el('time', undefined, formatWhen(message.ts));
  time.dateTime = new Date(message.ts).toISOString();
  meta.append(time);
  item.append(avatar(message.from), meta);
  // First after the header, so Tab from a message with focus reaches its
  // actions before the links and chips inside it (they show at its top).
  if (!message.deleted) item.append(toolbar(message));

  if (message.reply_to) item.append(quote(message.reply_to));
  if (message.deleted) {
    item.append(el('div', 'text deleted-text', 'Message deleted'));
  } else {
    if (message.text || !message.files?.length) {
      const shown = preview(message.text);
      const text = messageText(shown ?? message.text, myName);
      text.title = formatTime(message.ts);
      if (message.edited_ts) {
        text.classList.add('is-edited');
        text.title = `${formatTime(message.ts)} · edited ${formatWhen(message.edited_ts)}`;
      }
      item.append(text);
      if (shown !== null) item.append(showMore(message, text, myName));
    }
    if (message.files?.length) item.append(renderFiles(message.files));
  }
  const reactions = renderReactions(message);
  if (reactions) item.append(reactions);
  for (const hook of hooks) hook(item, message);
  return item;
}

/** A message longer than this shows its start, with a button for the rest. */
const LONG_TEXT_CHARS = 2000;
/** A message of more lines than this does too. */
const LONG_TEXT_LINES = 40;
/** How much of a long message shows at first. */
const PREVIEW_CHARS = 1000;
const PREVIEW_LINES = 20;

/**
 * The start of a long message, or null if it is short enough to show
 * whole. Laying out thousands of characters costs WebKit (the desktop
 * window, every iPhone) tens of milliseconds a message, so a burst of long
 * ones would hold up everything after them; a preview is cheap, and the
 * whole text is one click away.
 * @param {string} text
 * @returns {string | null}
 */
export function preview(text) {
  let lines = 0;
  let cut = -1;
  for (let i = text.indexOf('\n'); i !== -1 && lines <= LONG_TEXT_LINES; i = text.indexOf('\n', i + 1)) {
    lines += 1;
    if (lines === PREVIEW_LINES) cut = i;
  }
  if (text.length <= LONG_TEXT_CHARS && lines <= LONG_TEXT_LINES) return null;
  let end = Math.min(PREVIEW_CHARS, cut === -1 ? PREVIEW_CHARS : cut);
  // Never between the two halves of a surrogate pair.
  if (/[\uDC00-\uDFFF]/.test(text[end] ?? '')) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * The button under a long message's preview that shows all of it.
 * @param {ChatMessage} message
 * @param {HTMLElement} text the preview
 * @param {string | null} myName
 * @returns {HTMLButtonElement}
 */
function showMore(message, text, myName) {
  const button = el('button', 'show-more ghost', 'Show the whole message');
  button.type = 'button';
  button.setAttribute('aria-label', `Show the whole message from ${message.from.name}`);
  button.addEventListener('click', () => {
    const whole = messageText(message.text, myName);
    whole.title = text.title;
    whole.className = text.className;
    text.replaceWith(whole);
    // The button goes: focus stays on the message, not lost to the page.
    /** @type {HTMLElement | null} */ (whole.closest('.msg'))?.focus();
    button.remove();
  }, { once: true });
  return button;
}

/**
 * The compact quote of the message this one replies to; a click shows it.
 * @param {Quote} quoted
 * @returns {HTMLButtonElement}
 */
export function quote(quoted) {
  const button = el('button', 'quote');
  button.type = 'button';
  button.dataset.ref = String(quoted.id);
  button.dataset.focusKey = 'quote';
  fillQuote(button, quoted);
  return button;
}

/**
 * (Re)writes a quote's content, after the original was edited or deleted.
 * @param {HTMLElement} button
 * @param {Quote} quoted
 */
export function fillQuote(button, quoted) {
  const icon = el('span', 'quote-icon', '↩');
  icon.setAttribute('aria-hidden', 'true');
  const excerpt = quoted.deleted ? el('span', 'quote-text deleted-text', 'message deleted') : el('span', 'quote-text', oneLine(plainText(quoted.excerpt)) || '(files)');
  button.replaceChildren(icon, el('span', 'visually-hidden', 'In reply to '), el('span', 'quote-who', quoted.from.name), ' ', excerpt);
  button.title = 'Show the message this replies to';
}

/**
 * The reactions under a message: one chip per emoji with its count,
 * pressed when I am among those who reacted, with who they are on hover
 * and on focus. Null when there are none.
 * @param {ChatMessage} message
 * @returns {HTMLUListElement | null}
 */
export function renderReactions(message) {
  const reactions = (message.reactions ?? []).filter((reaction) => reaction.users.length > 0);
  if (reactions.length === 0) return null;
  const list = el('ul', 'reactions');
  list.setAttribute('aria-label', 'Reactions');
  reactions.forEach((reaction, index) => {
    const mine = reaction.users.some((user) => identity.isSelf(user));
    const names = whoReacted(reaction);
    const chip = el('button', 'chip');
    chip.type = 'button';
    chip.dataset.emoji = reaction.emoji;
    chip.dataset.focusKey = `chip:${reaction.emoji}`;
    chip.setAttribute('aria-pressed', String(mine));
    chip.title = `${names} reacted with ${reaction.emoji}`;
    const tipId = `reaction-tip-${message.id}-${index}`;
    chip.setAttribute('aria-describedby', tipId);
    chip.append(el('span', 'chip-emoji', reaction.emoji), el('span', 'chip-count', String(reaction.users.length)));
    const tip = el('span', 'tip', names);
    tip.id = tipId;
    tip.setAttribute('role', 'tooltip');
    const item = el('li');
    item.append(chip, tip);
    list.append(item);
  });
  return list;
}

/**
 * "Ann", "Ann and Bob", "Ann, Bob and Cy", "Ann, Bob and 5 others"; "you" for me.
 * @param {Reaction} reaction
 */
function whoReacted(reaction) {
  const names = reaction.users.map((user) => (identity.isSelf(user) ? 'you' : user.name));
  if (names.length === 1) return names[0];
  if (names.length <= 3) return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return `${names.slice(0, 2).join(', ')} and ${names.length - 2} others`;
}

const ICONS = {
  reply: 'M10 9V5l-7 7 7 7v-4.1c5 0 8.5 1.6 11 5.1-1-5-4-10-11-11z',
  react: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm-3.5-9a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm7 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zM12 17.5c2.3 0 4.3-1.4 5.1-3.5H6.9c.8 2.1 2.8 3.5 5.1 3.5z',
  edit: 'M3 17.25V21h3.75L17.8 9.94l-3.75-3.75L3 17.25zM20.7 7.04a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83z',
  delete: 'M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12zM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4z',
};

/**
 * The actions on a message, as icon buttons named for what they do.
 * @param {ChatMessage} message
 */
function toolbar(message) {
  const bar = el('div', 'actions');
  bar.setAttribute('role', 'group');
  bar.setAttribute('aria-label', `Message from ${message.from.name}`);
  /** @type {[Action, string][]} */
  const actions = [['reply', 'Reply'], ['react', 'React']];
  if (canEdit(message)) actions.push(['edit', 'Edit']);
  if (canDelete(message)) actions.push(['delete', identity.isSelf(message.from) ? 'Delete' : 'Delete (host)']);
  for (const [action, label] of actions) {
    const button = el('button', `action action-${action}`);
    button.type = 'button';
    button.dataset.action = action;
    button.dataset.focusKey = action;
    button.setAttribute('aria-label', label);
    button.title = label;
    if (action === 'react') button.setAttribute('aria-expanded', 'false');
    button.append(icon(ICONS[action]));
    bar.append(button);
  }
  return bar;
}

/**
 * A 24×24 icon from a path (a constant of this module).
 * @param {string} path
 */
function icon(path) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const shape = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  shape.setAttribute('d', path);
  shape.setAttribute('fill', 'currentColor');
  svg.append(shape);
  return svg;
}

/**
 * A short description of a message for notifications, announcements and
 * the composer's reply bar: its text on one line, or what it carries.
 * @param {ChatMessage} message
 * @param {number} [max]
 */
export function summary(message, max = 140) {
  if (message.deleted) return 'message deleted';
  const text = oneLine(plainText(message.text), max);
  if (text) return text;
  const files = message.files ?? [];
  if (files.length === 1) return files[0].type.startsWith('image/') ? `picture: ${files[0].name}` : `file: ${files[0].name}`;
  if (files.length > 1) return `${files.length} files`;
  return '';
}
