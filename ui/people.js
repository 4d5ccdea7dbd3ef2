// @ts-check
/**
 * Who is here: the people list and its count, who is typing, and my own
 * name and avatar at the top. The one owner of the room's users.
 * @module people
 */

import { byId, el } from './dom.js';
import * as identity from './identity.js';
import { avatar } from './render.js';

/** @typedef {import('./identity.js').User} User */

const TYPING_SHOW_FOR_MS = 5000;

/** @type {Map<number, User>} */
let users = new Map();
/** @type {Map<number, {name: string, timer: ReturnType<typeof setTimeout>}>} */
const typing = new Map();
/** @type {() => void} */
let changed = () => {};

/** @param {{changed: () => void}} hooks `changed`: the number of people changed */
export function init(hooks) {
  changed = hooks.changed;
}

/** How many people are here, me included. */
export function count() {
  return users.size;
}

/**
 * Everyone here, as a welcome lists them.
 * @param {User[]} list
 */
export function reset(list) {
  users = new Map(list.map((user) => [user.id, user]));
  render();
}

/** @param {User} user */
export function joined(user) {
  users.set(user.id, user);
  render();
}

/** @param {User} user */
export function left(user) {
  users.delete(user.id);
  stopTyping(user.id);
  render();
}

/** @param {User} user with the new name */
export function renamed(user) {
  users.set(user.id, user);
  render();
}

function render() {
  const items = [...users.values()].map((user) => {
    const item = el('li');
    item.append(avatar(user), el('span', 'name', user.name));
    if (identity.isMe(user)) item.append(el('span', 'you', '(you)'));
    return item;
  });
  byId('people').replaceChildren(...items);
  byId('people-count').textContent = String(users.size);
  changed();
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
