// @ts-check
/**
 * The conversation as shown: chat messages in id order, whichever way they
 * arrive (live, a page of older ones, a gap filled after a reconnect), and
 * system lines where they happened. A message joins the group of the one
 * just above it when the same person (the same `uid`) sent it within a few
 * minutes, so a page added above groups exactly like messages that arrived
 * live. The one owner of the shown messages' data, kept current as they
 * are edited, deleted and reacted to.
 * @module conversation
 */

import { systemLine } from '../message/render.js';

/** @typedef {import('../room/identity.js').User} User */
/** @typedef {{id: string, name: string, size: number, type: string, url: string}} FileInfo */
/** @typedef {{id: number, from: User, excerpt: string, deleted?: boolean}} Quote */
/** @typedef {{emoji: string, users: User[]}} Reaction */
/**
 * A chat message as the room sends it (docs/protocol.md).
 * @typedef {object} ChatMessage
 * @property {number} id
 * @property {User} from
 * @property {string} text "" once deleted, and may be "" when files are attached
 * @property {number} ts
 * @property {Quote} [reply_to]
 * @property {FileInfo[]} [files]
 * @property {Reaction[]} [reactions]
 * @property {number} [edited_ts]
 * @property {boolean} [deleted]
 */

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
    /** @type {Map<number, ChatMessage>} what each shown message is now (edits and reactions applied) */
    this.messages = new Map();
    /** @type {((added: HTMLLIElement[]) => void) | null} called after messages are added */
    this.afterInsert = null;
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
   * The message shown as `id`, as it is now.
   * @param {number} id
   * @returns {ChatMessage | undefined}
   */
  message(id) {
    return this.messages.get(id);
  }

  /**
   * Builds message `id`'s item again from its (changed) message, in place:
   * its place in its group stays. Returns the new item.
   * @param {number} id
   * @returns {HTMLLIElement | undefined}
   */
  rerender(id) {
    const old = this.items.get(id);
    const message = this.messages.get(id);
    if (!old || !message) return undefined;
    const item = this.render(message);
    item.dataset.id = String(message.id);
    item.dataset.user = message.from.uid ?? String(message.from.id);
    item.dataset.ts = String(message.ts);
    item.classList.toggle('first', old.classList.contains('first'));
    if (old.classList.contains('found')) item.classList.add('found');
    old.replaceWith(item);
    this.items.set(id, item);
    return item;
  }

  /**
   * Puts `node` (not a message: the unread divider) just before message
   * `id`, which then starts a group of its own.
   * @param {Element} node
   * @param {number} id
   */
  placeBefore(node, id) {
    const item = this.items.get(id);
    if (!item) return;
    const after = node.isConnected ? node.nextElementSibling : null;
    this.list.insertBefore(node, item);
    regroup(item);
    if (after instanceof HTMLElement) regroup(after);
  }

  /**
   * Takes `node` (see placeBefore) out; the message after it may join the group above.
   * @param {Element} node
   */
  removeNode(node) {
    if (!node.isConnected) return;
    const after = node.nextElementSibling;
    node.remove();
    if (after instanceof HTMLElement) regroup(after);
  }

  /**
   * The shown message ids, oldest first.
   * @returns {number[]}
   */
  ids() {
    return [...this.items.keys()].sort((a, b) => a - b);
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
      item.dataset.user = message.from.uid ?? String(message.from.id);
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
      this.messages.set(message.id, message);
      added.push(item);
    }
    this.oldest = Math.min(oldest ?? Infinity, fresh[0].id);
    this.newest = Math.max(newest ?? -Infinity, /** @type {ChatMessage} */ (fresh.at(-1)).id);
    for (const item of added) {
      regroup(item);
      const after = item.nextElementSibling;
      if (after instanceof HTMLElement) regroup(after);
    }
    this.afterInsert?.(added);
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
      if (item.dataset.id) {
        this.items.delete(Number(item.dataset.id));
        this.messages.delete(Number(item.dataset.id));
      }
      item.remove();
    }
    this.oldest = first[0];
    regroup(start);
  }

  /** Empties the view. */
  clear() {
    this.list.replaceChildren();
    this.items.clear();
    this.messages.clear();
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
