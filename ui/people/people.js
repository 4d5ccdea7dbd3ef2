// @ts-check
/**
 * Who is here: the people list and its count, who is typing, and my own
 * name and avatar at the top. The one owner of the room's users.
 *
 * A large room does not list everyone at once: `welcome` carries the first
 * page of people (in joining order) and how many there are, and the rest
 * come a page at a time, when asked for with "Show more people". The count
 * is always the room's own; the list holds the people loaded so far, kept
 * current as people come and go.
 * @module people
 */

import { byId, el } from '../platform/dom.js';
import * as identity from '../room/identity.js';
import { avatar } from '../message/render.js';
import * as session from '../room/session.js';

/** @typedef {import('../room/identity.js').User} User */

/**
 * What `welcome` says about the people in the room.
 * @typedef {object} Roster
 * @property {User} you
 * @property {User[]} users the first page, in joining order
 * @property {number} [people] how many people are in the room, me included
 * @property {number | null} [people_next] the cursor for the next page; null when `users` is everyone
 */

const TYPING_SHOW_FOR_MS = 5000;

/** @type {Map<number, User>} the people loaded so far, in joining order (me always among them) */
let users = new Map();
/** @type {Map<number, HTMLLIElement>} each loaded person's row */
let rows = new Map();
/**
 * Whether my row is only standing in at the end of the list until paging
 * reaches my place (I joined after everyone the welcome listed).
 */
let meWaiting = false;
/** How many people are in the room, me included, as the room last said. */
let total = 0;
/** @type {number | null} where the next page starts; null once everyone is loaded */
let next = null;
/** Whether a page has been asked for and not answered yet. */
let loading = false;
/** @type {Map<number, {name: string, timer: ReturnType<typeof setTimeout>}>} */
const typing = new Map();
/** @type {() => void} */
let changed = () => {};
/** @type {(message: string) => void} */
let announce = () => {};

/**
 * @param {{changed: () => void, announce: (message: string) => void}} hooks
 *   `changed`: the number of people changed; `announce`: says something to screen readers
 */
export function init(hooks) {
  changed = hooks.changed;
  announce = hooks.announce;
  byId('people-more').addEventListener('click', showMore);
}

/** How many people are here, me included. */
export function count() {
  return total;
}

/**
 * Joined (again): the list starts over from what the welcome says.
 * @param {Roster} welcome
 */
export function reset(welcome) {
  users = new Map(welcome.users.map((user) => [user.id, user]));
  // In a large room I joined after the first page: I show last until paging reaches my place.
  meWaiting = !users.has(welcome.you.id);
  users.set(welcome.you.id, users.get(welcome.you.id) ?? welcome.you);
  rows = new Map([...users.values()].map((user) => [user.id, row(user)]));
  byId('people').replaceChildren(...rows.values());
  total = typeof welcome.people === 'number' ? welcome.people : users.size;
  next = welcome.people_next ?? null;
  loading = false;
  byId('people-more-error').textContent = '';
  update();
}

/**
 * Someone joined (a small room says so at once).
 * @param {User} user
 */
export function joined(user) {
  arrive(user);
  total += 1;
  update();
}

/**
 * Someone left (a small room says so at once).
 * @param {User} user
 */
export function left(user) {
  depart(user);
  total = Math.max(0, total - 1);
  update();
}

/**
 * Many came and went at once (a large room): everyone in `came` joined,
 * then everyone in `went` left, and `now` people are here. The count is
 * the room's own, whoever the frame names.
 * @param {User[]} came
 * @param {User[]} went
 * @param {number} now
 * @returns {number} how many more joined than `came` names (a room need
 *   not name newcomers to a page that has not loaded everyone: they show
 *   up at the end of the list)
 */
export function presence(came, went, now) {
  for (const user of came) arrive(user);
  for (const user of went) depart(user);
  const expected = total + came.length - went.length;
  total = now;
  update();
  return Math.max(0, now - expected);
}

/** @param {User} user */
function arrive(user) {
  // Everyone not loaded yet joined before this person: until paging
  // reaches the end, a newcomer shows up when it does.
  if (next !== null || users.has(user.id)) return;
  add(user);
}

/** @param {User} user */
function depart(user) {
  users.delete(user.id);
  rows.get(user.id)?.remove();
  rows.delete(user.id);
  stopTyping(user.id);
}

/**
 * A loaded person, at the end of the list (or moved there), before my row
 * while that only stands in there.
 * @param {User} user
 */
function add(user) {
  const mine = identity.isMe(user);
  users.delete(user.id);
  users.set(user.id, user);
  const item = row(user);
  rows.get(user.id)?.remove();
  rows.set(user.id, item);
  const me = identity.currentUser();
  const myRow = meWaiting && !mine && me ? rows.get(me.id) : undefined;
  if (myRow) myRow.before(item);
  else byId('people').append(item);
  if (mine) meWaiting = false;
  return item;
}

/** @param {User} user with the new name */
export function renamed(user) {
  refresh(user);
  changed();
}

/**
 * A loaded person's row shows their name as `user` has it (a person not
 * loaded shows with it when loaded).
 * @param {User} user
 */
function refresh(user) {
  const known = users.get(user.id);
  if (!known || known.name === user.name) return;
  users.set(user.id, user);
  const item = row(user);
  rows.get(user.id)?.replaceWith(item);
  rows.set(user.id, item);
}

/** Asks for the next page of people (one request at a time). */
function showMore() {
  if (loading || next === null) return;
  byId('people-more-error').textContent = '';
  const sent = session.request({ kind: 'people' }, { type: 'people', after: next });
  if (!sent) {
    byId('people-more-error').textContent = 'Not connected: try again once connected.';
    return;
  }
  loading = true;
  update();
}

/**
 * The answer to `people`: the next page, in joining order.
 * @param {User[]} page
 * @param {number | null} after the cursor for the page after it; null when it was the last
 */
export function paged(page, after) {
  loading = false;
  const button = byId('people-more');
  const hadFocus = document.activeElement === button;
  /** @type {HTMLLIElement | null} */
  let first = null;
  for (const user of page) {
    if (users.has(user.id) && !identity.isMe(user)) {
      refresh(user);
      continue;
    }
    // Someone shown early (me) moves to their place in joining order.
    const item = add(user);
    first ??= item;
  }
  next = after ?? null;
  update();
  announce(next === null ? `All ${total} people shown` : `Showing ${users.size} of ${total} people`);
  // The button went away under the focus: it moves to the first person the page added.
  if (hadFocus && button.hidden) {
    const target = first ?? byId('people').lastElementChild;
    if (target instanceof HTMLElement) {
      target.tabIndex = -1;
      target.focus();
    }
  }
}

/**
 * Asking for a page failed (the room refused it, e.g. too many requests at once).
 * @param {string} code
 * @param {string} text
 */
export function pageFailed(code, text) {
  loading = false;
  const message = code === 'rate_limited' || code === 'room_busy' ? 'Too many requests at once: try again in a moment.' : `Could not show more people: ${text}`;
  byId('people-more-error').textContent = message;
  announce(message);
  update();
}

/** Shows the count, and the button while people are still to load. */
function update() {
  byId('people-count').textContent = String(total);
  const button = byId('people-more');
  const shown = byId('people-shown');
  const more = next !== null;
  button.hidden = !more;
  shown.hidden = !more;
  if (more) {
    shown.textContent = `Showing ${users.size} of ${total}`;
    button.textContent = loading ? 'Loading people…' : 'Show more people';
    button.setAttribute('aria-disabled', String(loading));
  }
  changed();
}

/**
 * One person's row in the list.
 * @param {User} user
 * @returns {HTMLLIElement}
 */
function row(user) {
  const item = el('li');
  item.append(avatar(user), el('span', 'name', user.name));
  if (identity.isMe(user)) item.append(el('span', 'you', '(you)'));
  return item;
}

/** Shows my name and avatar on the name button (or a prompt to choose one). */
export function showMe() {
  const me = identity.currentUser();
  const button = byId('name-button');
  byId('my-name').textContent = me ? me.name : 'Choose a name';
  const old = button.querySelector('.avatar');
  const fresh = me ? avatar(me) : el('span', 'avatar');
  fresh.id = 'my-avatar';
  fresh.setAttribute('aria-hidden', 'true');
  if (old) old.replaceWith(fresh);
  // The accessible name starts with the visible text (WCAG 2.5.3), then says what the button does.
  byId('name-button-hint').textContent = me ? ', your name: change it' : '';
}

/** @param {User} user */
export function startTyping(user) {
  const existing = typing.get(user.id);
  if (existing) clearTimeout(existing.timer);
  const timer = setTimeout(() => stopTyping(user.id), TYPING_SHOW_FOR_MS);
  typing.set(user.id, { name: user.name, timer });
  renderTyping();
}

/** @param {number} id */
export function stopTyping(id) {
  const entry = typing.get(id);
  if (!entry) return;
  clearTimeout(entry.timer);
  typing.delete(id);
  renderTyping();
}

export function clearTyping() {
  for (const id of [...typing.keys()]) stopTyping(id);
}

function renderTyping() {
  const names = [...typing.values()].map((entry) => entry.name);
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  byId('typing').textContent = text;
}
