// @ts-check
/**
 * Who is here in one conversation: the people list and its count, and who
 * is typing. The one owner of the room's users; one per conversation.
 *
 * A large room does not list everyone at once: `welcome` carries the first
 * page of people (in joining order) and how many there are, and the rest
 * come a page at a time, when asked for with "Show more people". The count
 * is always the room's own; the list holds the people loaded so far, kept
 * current as people come and go.
 * @module people
 */

import { el } from '../platform/dom.js';
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

/**
 * The elements a people list shows itself in.
 * @typedef {object} PeopleElements
 * @property {HTMLElement} list the people, one row each
 * @property {HTMLElement} count how many are here
 * @property {HTMLButtonElement} more "Show more people"
 * @property {HTMLElement} shown "Showing N of M"
 * @property {HTMLElement} error why a page could not be shown
 * @property {HTMLElement} typing who is typing
 */

export class PeopleList {
  /** @type {Map<number, User>} the people loaded so far, in joining order (me always among them) */
  #users = new Map();
  /** @type {Map<number, HTMLLIElement>} each loaded person's row */
  #rows = new Map();
  /**
   * Whether my row is only standing in at the end of the list until paging
   * reaches my place (I joined after everyone the welcome listed).
   */
  #meWaiting = false;
  /** How many people are in the room, me included, as the room last said. */
  #total = 0;
  /** @type {number | null} where the next page starts; null once everyone is loaded */
  #next = null;
  /** Whether a page has been asked for and not answered yet. */
  #loading = false;
  /** @type {Map<number, {name: string, timer: ReturnType<typeof setTimeout>}>} */
  #typing = new Map();
  /** @type {() => void} */
  #changed = () => {};
  /** @type {(message: string) => void} */
  #announce = () => {};

  /** @param {PeopleElements} elements */
  constructor(elements) {
    this.ui = elements;
  }

  /**
   * @param {{changed: () => void, announce: (message: string) => void}} hooks
   *   `changed`: the number of people changed; `announce`: says something to screen readers
   */
  mount(hooks) {
    this.#changed = hooks.changed;
    this.#announce = hooks.announce;
    this.ui.more.addEventListener('click', () => this.#showMore());
  }

  /** How many people are here, me included. */
  count() {
    return this.#total;
  }

  /**
   * Joined (again): the list starts over from what the welcome says.
   * @param {Roster} welcome
   */
  reset(welcome) {
    const users = new Map(welcome.users.map((user) => [user.id, user]));
    // In a large room I joined after the first page: I show last until paging reaches my place.
    this.#meWaiting = !users.has(welcome.you.id);
    users.set(welcome.you.id, users.get(welcome.you.id) ?? welcome.you);
    this.#users = users;
    this.#rows = new Map([...users.values()].map((user) => [user.id, row(user)]));
    this.ui.list.replaceChildren(...this.#rows.values());
    this.#total = typeof welcome.people === 'number' ? welcome.people : users.size;
    this.#next = welcome.people_next ?? null;
    this.#loading = false;
    this.ui.error.textContent = '';
    this.#update();
  }

  /**
   * Someone joined (a small room says so at once).
   * @param {User} user
   */
  joined(user) {
    this.#arrive(user);
    this.#total += 1;
    this.#update();
  }

  /**
   * Someone left (a small room says so at once).
   * @param {User} user
   */
  left(user) {
    this.#depart(user);
    this.#total = Math.max(0, this.#total - 1);
    this.#update();
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
  presence(came, went, now) {
    for (const user of came) this.#arrive(user);
    for (const user of went) this.#depart(user);
    const expected = this.#total + came.length - went.length;
    this.#total = now;
    this.#update();
    return Math.max(0, now - expected);
  }

  /** @param {User} user */
  #arrive(user) {
    // Everyone not loaded yet joined before this person: until paging
    // reaches the end, a newcomer shows up when it does.
    if (this.#next !== null || this.#users.has(user.id)) return;
    this.#add(user);
  }

  /** @param {User} user */
  #depart(user) {
    this.#users.delete(user.id);
    this.#rows.get(user.id)?.remove();
    this.#rows.delete(user.id);
    this.stopTyping(user.id);
  }

  /**
   * A loaded person, at the end of the list (or moved there), before my row
   * while that only stands in there.
   * @param {User} user
   */
  #add(user) {
    const mine = identity.isMe(user);
    this.#users.delete(user.id);
    this.#users.set(user.id, user);
    const item = row(user);
    this.#rows.get(user.id)?.remove();
    this.#rows.set(user.id, item);
    const me = identity.currentUser();
    const myRow = this.#meWaiting && !mine && me ? this.#rows.get(me.id) : undefined;
    if (myRow) myRow.before(item);
    else this.ui.list.append(item);
    if (mine) this.#meWaiting = false;
    return item;
  }

  /** @param {User} user with the new name */
  renamed(user) {
    this.#refresh(user);
    this.#changed();
  }

  /**
   * A loaded person's row shows their name as `user` has it (a person not
   * loaded shows with it when loaded).
   * @param {User} user
   */
  #refresh(user) {
    const known = this.#users.get(user.id);
    if (!known || known.name === user.name) return;
    this.#users.set(user.id, user);
    const item = row(user);
    this.#rows.get(user.id)?.replaceWith(item);
    this.#rows.set(user.id, item);
  }

  /** Asks for the next page of people (one request at a time). */
  #showMore() {
    if (this.#loading || this.#next === null) return;
    this.ui.error.textContent = '';
    const sent = session.request({ kind: 'people' }, { type: 'people', after: this.#next });
    if (!sent) {
      this.ui.error.textContent = 'Not connected: try again once connected.';
      return;
    }
    this.#loading = true;
    this.#update();
  }

  /**
   * The answer to `people`: the next page, in joining order.
   * @param {User[]} page
   * @param {number | null} after the cursor for the page after it; null when it was the last
   */
  paged(page, after) {
    this.#loading = false;
    const button = this.ui.more;
    const hadFocus = document.activeElement === button;
    /** @type {HTMLLIElement | null} */
    let first = null;
    for (const user of page) {
      if (this.#users.has(user.id) && !identity.isMe(user)) {
        this.#refresh(user);
        continue;
      }
      // Someone shown early (me) moves to their place in joining order.
      const item = this.#add(user);
      first ??= item;
    }
    this.#next = after ?? null;
    this.#update();
    const total = this.#total;
    this.#announce(this.#next === null ? `All ${total} people shown` : `Showing ${this.#users.size} of ${total} people`);
    // The button went away under the focus: it moves to the first person the page added.
    if (hadFocus && button.hidden) {
      const target = first ?? this.ui.list.lastElementChild;
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
  pageFailed(code, text) {
    this.#loading = false;
    const message = code === 'rate_limited' || code === 'room_busy' ? 'Too many requests at once: try again in a moment.' : `Could not show more people: ${text}`;
    this.ui.error.textContent = message;
    this.#announce(message);
    this.#update();
  }

  /** Shows the count, and the button while people are still to load. */
  #update() {
    const { count, more: button, shown } = this.ui;
    count.textContent = String(this.#total);
    const more = this.#next !== null;
    button.hidden = !more;
    shown.hidden = !more;
    if (more) {
      shown.textContent = `Showing ${this.#users.size} of ${this.#total}`;
      button.textContent = this.#loading ? 'Loading people…' : 'Show more people';
      button.setAttribute('aria-disabled', String(this.#loading));
    }
    this.#changed();
  }

  /** @param {User} user */
  startTyping(user) {
    const existing = this.#typing.get(user.id);
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => this.stopTyping(user.id), TYPING_SHOW_FOR_MS);
    this.#typing.set(user.id, { name: user.name, timer });
    this.#renderTyping();
  }

  /** @param {number} id */
  stopTyping(id) {
    const entry = this.#typing.get(id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#typing.delete(id);
    this.#renderTyping();
  }

  clearTyping() {
    for (const id of [...this.#typing.keys()]) this.stopTyping(id);
  }

  #renderTyping() {
    const names = [...this.#typing.values()].map((entry) => entry.name);
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = 'Several people are typing…';
    this.ui.typing.textContent = text;
  }
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
