// @ts-check
/**
 * The conversation as shown: chat messages in id order, whichever way they
 * arrive (live, a page of older ones, a gap filled after a reconnect), and
 * system lines where they happened. A message joins the group of the one
 * just above it when the same person sent it within a few minutes, so a
 * page added above groups exactly like messages that arrived live.
 * @module conversation
 */

import { systemLine } from './render.js';

/** @typedef {{id: number, from: {id: number, name: string}, text: string, ts: number}} ChatMessage */

/** Messages from one person this close together share one header. */
export const GROUP_WITHIN_MS = 5 * 60 * 1000;

export class Conversation {
  /**
   * @param {HTMLOListElement} list
   * @param {(message: ChatMessage) => HTMLLIElement} render builds one message's item
   */
  constructor(list, render) {
    this.list = list;
    this.render = render;
    /** @type {Map<number, HTMLLIElement>} */
    this.items = new Map();
    /** @type {number | null} */
    this.oldest = null;
    /** @type {number | null} */
    this.newest = null;
  }

  /** How many chat messages are shown. */
  get size() {
    return this.items.size;
  }

  /** @param {number} id */
  has(id) {
    return this.items.has(id);
  }

  /**
   * @param {number} id
   * @returns {HTMLLIElement | undefined}
   */
  element(id) {
    return this.items.get(id);
  }

  /**
   * Shows the messages not shown yet, each in its place by id: older than
   * everything shown at the very top, newer at the end, in between just
   * before the next newer message. Linear in the list's length at worst,
   * constant per message for live ones.
   * @param {ChatMessage[]} messages
   * @returns {HTMLLIElement[]} the items added, oldest first
   */
  insert(messages) {
    const seen = new Set();
    const fresh = messages
      .filter((m) => !this.items.has(m.id) && !seen.has(m.id) && seen.add(m.id))
      .sort((a, b) => a.id - b.id);
    if (fresh.length === 0) return [];
    const oldest = this.oldest;
    const newest = this.newest;
    const top = this.list.firstChild;
    /** @type {Element | null} the first message shown before this batch that is newer than the current one */
    let next = null;
    let scanned = false;
    /** @type {HTMLLIElement[]} */
    const added = [];
    for (const message of fresh) {
      const item = this.render(message);
      item.dataset.id = String(message.id);
      item.dataset.user = String(message.from.id);
      item.dataset.ts = String(message.ts);
      if (oldest === null || newest === null || message.id > newest) {
        this.list.append(item);
      } else if (message.id < oldest) {
        this.list.insertBefore(item, top);
      } else {
        if (!scanned) {
          next = this.list.firstElementChild;
          scanned = true;
        }
        // Sorted input: the cursor only moves forward, over items shown
        // before (what this batch added above it is older than `message`).
        while (next && !(next.classList.contains('msg') && Number(/** @type {HTMLElement} */ (next).dataset.id) > message.id)) {
          next = next.nextElementSibling;
        }
        this.list.insertBefore(item, next);
      }
      this.items.set(message.id, item);
      added.push(item);
    }
    this.oldest = Math.min(oldest ?? Infinity, fresh[0].id);
    this.newest = Math.max(newest ?? -Infinity, /** @type {ChatMessage} */ (fresh.at(-1)).id);
    for (const item of added) {
      regroup(item);
      const after = item.nextElementSibling;
      if (after instanceof HTMLElement) regroup(after);
    }
    return added;
  }

  /**
   * Adds a system line ("Ann joined") at the end.
   * @param {string} text
   * @param {string} [extraClass]
   */
  appendSystem(text, extraClass) {
    this.list.append(systemLine(text, extraClass));
  }

  /**
   * Removes everything above message `id` (messages and system lines), so
   * the view starts there.
   * @param {number} id
   */
  keepFrom(id) {
    const first = [...this.items.entries()].filter(([shown]) => shown >= id).sort((a, b) => a[0] - b[0])[0];
    if (!first) {
      this.clear();
      return;
    }
    const start = first[1];
    while (this.list.firstElementChild && this.list.firstElementChild !== start) {
      const item = /** @type {HTMLElement} */ (this.list.firstElementChild);
      if (item.dataset.id) this.items.delete(Number(item.dataset.id));
      item.remove();
    }
    this.oldest = first[0];
    regroup(start);
  }

  /** Empties the view. */
  clear() {
    this.list.replaceChildren();
    this.items.clear();
    this.oldest = null;
    this.newest = null;
  }
}

/**
 * Marks `item` as the first of its group unless the item just above is a
 * message from the same person sent shortly before.
 * @param {HTMLElement} item
 */
function regroup(item) {
  if (!item.classList.contains('msg')) return;
  const above = item.previousElementSibling;
  const grouped =
    above instanceof HTMLElement &&
    above.classList.contains('msg') &&
    above.dataset.user === item.dataset.user &&
    Number(item.dataset.ts) - Number(above.dataset.ts) < GROUP_WITHIN_MS;
  item.classList.toggle('first', !grouped);
}
