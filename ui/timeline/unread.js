// @ts-check
/**
 * The unread marker of one conversation: the last message seen is kept per
 * room in localStorage; on coming back (a new visit, or the page shown
 * again after being hidden) a "New since you were here" divider goes before
 * the first message from someone else not seen yet, with a button to jump
 * to it while it is out of view. The one owner of what was seen.
 * @module unread
 */

import { el } from '../platform/dom.js';
import * as identity from '../room/identity.js';

/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./scroll.js').Scroll} Scroll */

const PREFIX = 'hearth.seen.';

export class UnreadMarker {
  /** @type {string | null} */
  #room = null;
  /** @type {number | null} the newest message seen (shown while the page was visible) */
  #seen = null;
  /** @type {number | null} the divider goes after this id: before the first unseen message */
  #after = null;
  /** @type {number | null} the newest message shown when the page was hidden */
  #hiddenAt = null;
  /** Joining a room whose welcome is not shown yet: nothing counts as seen until it is. */
  #fresh = false;

  /**
   * @param {{conversation: Conversation, scroll: Scroll, button: HTMLButtonElement}} parts
   *   the conversation's messages, its log, and its "Jump to first unread" button
   */
  constructor(parts) {
    this.conversation = parts.conversation;
    this.scroll = parts.scroll;
    this.button = parts.button;
    this.divider = el('li', 'unread-divider');
    this.divider.append(el('span', undefined, 'New since you were here'));
  }

  /**
   * @param {{jumpTo: (id: number) => void}} hooks `jumpTo`: shows message `id`, loading it if needed
   */
  mount(hooks) {
    this.conversation.afterInsert = () => {
      if (this.#fresh) return;
      if (this.#after !== null) this.#place();
      this.#markSeen();
    };
    document.addEventListener('visibilitychange', () => this.#visibilityChanged());
    this.scroll.log.addEventListener('scroll', () => this.#updateButton(), { passive: true });
    this.button.addEventListener('click', () => {
      if (this.divider.isConnected) {
        this.divider.scrollIntoView({ block: 'start' });
        const first = this.divider.nextElementSibling;
        if (first instanceof HTMLElement) {
          first.tabIndex = -1;
          first.focus({ preventScroll: true });
        }
      } else if (this.#after !== null) {
        hooks.jumpTo(this.#after);
      }
      this.button.hidden = true;
    });
  }

  #visibilityChanged() {
    const conversation = this.conversation;
    if (document.hidden) {
      this.#hiddenAt = conversation.newest ?? this.#seen;
      return;
    }
    const newest = conversation.newest;
    const hiddenAt = this.#hiddenAt;
    if (hiddenAt !== null && newest !== null && newest > hiddenAt && this.#hasUnseenFromOthers(hiddenAt)) {
      this.#after = hiddenAt;
      this.#place();
    }
    this.#hiddenAt = null;
    this.#markSeen();
  }

  /**
   * Joining room `id` (its welcome is about to be shown).
   * @param {string} id
   */
  joining(id) {
    if (this.#room === id) return;
    this.#room = id;
    this.#seen = load(id);
    this.#after = null;
    this.#fresh = true;
  }

  /**
   * The welcome's messages are shown. On the first welcome of this page (or
   * of another room), what was not seen last time is marked.
   */
  welcomed() {
    if (this.#fresh) {
      this.#fresh = false;
      if (this.#seen !== null && this.#hasUnseenFromOthers(this.#seen)) this.#after = this.#seen;
    }
    this.#place();
    this.#markSeen();
  }

  /** The view starts over (another room, the host cleared it): no divider. */
  reset() {
    this.#after = null;
    this.conversation.removeNode(this.divider);
    this.#updateButton();
  }

  /**
   * Whether a message newer than `id` from someone else is shown.
   * @param {number} id
   */
  #hasUnseenFromOthers(id) {
    const conversation = this.conversation;
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
  #place() {
    const { conversation, divider } = this;
    const after = this.#after;
    if (after === null) {
      conversation.removeNode(divider);
      this.#updateButton();
      return;
    }
    const first = conversation.ids().find((id) => {
      if (id <= after) return false;
      const message = conversation.message(id);
      return !!message && !identity.isSelf(message.from);
    });
    if (first === undefined) conversation.removeNode(divider);
    else if (divider.nextElementSibling !== conversation.element(first) || !divider.isConnected) conversation.placeBefore(divider, first);
    this.#updateButton();
  }

  /** While the page is visible, the newest message shown counts as seen. */
  #markSeen() {
    if (document.hidden || this.#room === null) return;
    const newest = this.conversation.newest;
    if (newest === null || (this.#seen !== null && newest <= this.#seen)) return;
    this.#seen = newest;
    store(this.#room, newest);
  }

  /** "Jump to first unread" shows while the first unread message is above the view. */
  #updateButton() {
    let show = false;
    const after = this.#after;
    if (after !== null) {
      if (this.divider.isConnected) {
        show = this.divider.getBoundingClientRect().bottom < this.scroll.log.getBoundingClientRect().top;
      } else {
        const oldest = this.conversation.oldest;
        show = oldest !== null && oldest > after;
      }
    }
    this.button.hidden = !show;
  }

  /** Whether the divider is shown (for tests and the view). */
  shown() {
    return this.divider.isConnected;
  }
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
