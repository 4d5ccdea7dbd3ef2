// @ts-check
/**
 * Where the reader is in one conversation's log: at the bottom or not,
 * keeping what they look at in place while content is added above, and
 * the "new messages" pill for what arrives below while they read further
 * up. One per conversation view.
 * @module scroll
 */

import { atBottom } from '../platform/dom.js';

export class Scroll {
  /** Messages that arrived below while the reader was scrolled up. */
  #unseenBelow = 0;

  /**
   * @param {{log: HTMLElement, messages: HTMLElement, pill: HTMLButtonElement}} elements
   *   the scrolling log, the list of messages in it, and the "new messages" pill
   */
  constructor(elements) {
    /** The scrolling log. */
    this.log = elements.log;
    this.messages = elements.messages;
    this.pill = elements.pill;
  }

  /**
   * @param {{nearTop: () => void, focusComposer: () => void}} hooks
   *   `nearTop`: the reader scrolled (or the log resized); `focusComposer`: after the pill is used
   */
  mount(hooks) {
    this.log.addEventListener('scroll', () => {
      if (this.isAtBottom()) this.#hidePill();
      hooks.nearTop();
    });
    this.pill.addEventListener('click', () => {
      this.scrollToBottom();
      hooks.focusComposer();
    });
    // The log may have grown or shrunk (a narrow window turning wide): fill it.
    new ResizeObserver(() => hooks.nearTop()).observe(this.log);
  }

  /** @returns {boolean} */
  isAtBottom() {
    return atBottom(this.log);
  }

  scrollToBottom() {
    this.log.scrollTop = this.log.scrollHeight;
    this.#hidePill();
  }

  #hidePill() {
    this.#unseenBelow = 0;
    this.pill.hidden = true;
  }

  /** One more message arrived below what the reader looks at. */
  arrivedBelow() {
    this.#unseenBelow += 1;
    const count = this.#unseenBelow;
    this.pill.textContent = `${count} new message${count === 1 ? '' : 's'} ↓`;
    this.pill.hidden = false;
  }

  /** The view starts over: nothing is waiting below. */
  reset() {
    this.#hidePill();
  }

  /**
   * Runs `mutate` (which adds or removes content) without moving what the
   * reader is looking at: the first message in view stays where it is, or
   * the view stays at the bottom if it was there.
   * @param {() => void} mutate
   */
  keepAnchor(mutate) {
    const wasAtBottom = this.isAtBottom();
    const anchor = wasAtBottom ? null : this.#firstVisibleItem();
    const top = anchor ? anchor.getBoundingClientRect().top : 0;
    mutate();
    if (wasAtBottom) {
      this.log.scrollTop = this.log.scrollHeight;
    } else if (anchor?.isConnected) {
      this.log.scrollTop += anchor.getBoundingClientRect().top - top;
    }
  }

  /**
   * The first item of the list whose bottom is below the top of the log,
   * found by bisection (the items are laid out top to bottom).
   * @returns {Element | null}
   */
  #firstVisibleItem() {
    const items = this.messages.children;
    const top = this.log.getBoundingClientRect().top;
    let low = 0;
    let high = items.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (items[middle].getBoundingClientRect().bottom > top) high = middle;
      else low = middle + 1;
    }
    return items[low] ?? null;
  }

  /**
   * Scrolls a message into view and highlights it briefly.
   * @param {HTMLElement} item
   */
  showFound(item) {
    // A long message shown in part is shown whole: what was looked for may
    // be further on.
    /** @type {HTMLButtonElement | null} */ (item.querySelector(':scope > .show-more'))?.click();
    item.scrollIntoView({ block: 'center' });
    item.classList.remove('found');
    // Restart the highlight's animation if it is still running.
    void item.offsetWidth;
    item.classList.add('found');
    item.tabIndex = -1;
    item.focus({ preventScroll: true });
    setTimeout(() => item.classList.remove('found'), 3000);
  }
}
