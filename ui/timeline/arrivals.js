// @ts-check
/**
 * What a conversation's timeline says about people coming and going. A few arrivals and
 * departures get a line each as they happen ("Ann joined", "Bob left"). A
 * crowd (a large room filling up, a class arriving at once) does not get a
 * line per person: past a small burst, what happened since the last line is
 * summed up in one ("48 people joined, 3 left") at most every couple of
 * seconds, with one announcement for screen readers.
 * @module arrivals
 */

import * as attention from '../platform/attention.js';

/** @typedef {import('../room/identity.js').User} User */

/** Lines that may come one right after another. */
const BURST = 5;
/** After a burst, at most one line this often. */
const EVERY_MS = 2000;

/**
 * Not said yet: who joined and left, and how many more joined without
 * being named.
 * @typedef {{joined: User[], left: User[], unnamed: number}} News
 */

/** What one conversation's timeline says about its comings and goings. */
export class Arrivals {
  #budget = BURST;
  #refilledAt = Date.now();
  /** @type {News} */
  #pending = { joined: [], left: [], unnamed: 0 };
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;

  /** @param {(text: string) => void} line adds a line to the conversation's timeline */
  constructor(line) {
    this.line = line;
  }

  /**
   * People joined, then people left: said at once while the budget lasts,
   * else in the next summary.
   * @param {User[]} joined
   * @param {User[]} left
   * @param {number} [unnamed] how many more joined, not named
   */
  news(joined, left, unnamed = 0) {
    if (joined.length === 0 && left.length === 0 && unnamed === 0) return;
    this.#pending.joined.push(...joined);
    this.#pending.left.push(...left);
    this.#pending.unnamed += unnamed;
    this.#refill();
    if (this.#budget >= 1) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), Math.ceil((1 - this.#budget) * EVERY_MS));
  }

  /**
   * Says what is pending now. Called before anything else goes into the
   * timeline too (a message, a rename), so each line stays where it happened.
   */
  flush() {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const said = this.#pending;
    if (said.joined.length === 0 && said.left.length === 0 && said.unnamed === 0) return;
    this.#pending = { joined: [], left: [], unnamed: 0 };
    this.#refill();
    this.#budget = Math.max(0, this.#budget - 1);
    const text = describe(said);
    this.line(text);
    if (said.joined.length > 0 || said.unnamed > 0) attention.announce(text);
  }

  #refill() {
    const now = Date.now();
    this.#budget = Math.min(BURST, this.#budget + (now - this.#refilledAt) / EVERY_MS);
    this.#refilledAt = now;
  }
}

/**
 * "Ann joined", "Ann and Bob joined, Cy left", "12 people joined, 3 left",
 * "Someone joined".
 * @param {News} news
 * @returns {string}
 */
export function describe({ joined, left, unnamed }) {
  const joins = joined.length + unnamed;
  const parts = [];
  if (unnamed > 0) parts.push(joins === 1 ? 'Someone joined' : `${joins} people joined`);
  else if (joins > 0) parts.push(`${who(joined)} joined`);
  if (left.length > 0) parts.push(`${joins > 2 && left.length > 2 ? left.length : who(left)} left`);
  return parts.join(', ');
}

/**
 * @param {User[]} users at least one
 * @returns {string}
 */
function who(users) {
  if (users.length === 1) return users[0].name;
  if (users.length === 2) return `${users[0].name} and ${users[1].name}`;
  return `${users.length} people`;
}
