// @ts-check
/**
 * Where the reader is in the log: at the bottom or not, keeping what they
 * look at in place while content is added above, and the "new messages"
 * pill for what arrives below while they read further up.
 * @module scroll
 */

import { byId } from '../platform/dom.js';

const log = byId('log');
const messages = byId('messages');
const pill = /** @type {HTMLButtonElement} */ (byId('new-messages'));

/** Messages that arrived below while the reader was scrolled up. */
let unseenBelow = 0;

/** The scrolling log. */
export function logElement() {
  return log;
}

/** @returns {boolean} */
export function isAtBottom() {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 60;
}

export function scrollToBottom() {
  log.scrollTop = log.scrollHeight;
  hidePill();
}

function hidePill() {
  unseenBelow = 0;
  pill.hidden = true;
}

/** One more message arrived below what the reader looks at. */
export function arrivedBelow() {
  unseenBelow += 1;
  pill.textContent = `${unseenBelow} new message${unseenBelow === 1 ? '' : 's'} ↓`;
  pill.hidden = false;
}

/** The view starts over: nothing is waiting below. */
export function reset() {
  hidePill();
}

/**
 * @param {{nearTop: () => void, focusComposer: () => void}} hooks
 *   `nearTop`: the reader scrolled (or the log resized); `focusComposer`: after the pill is used
 */
export function wire(hooks) {
  log.addEventListener('scroll', () => {
    if (isAtBottom()) hidePill();
    hooks.nearTop();
  });
  pill.addEventListener('click', () => {
    scrollToBottom();
    hooks.focusComposer();
  });
  // The log may have grown or shrunk (a narrow window turning wide): fill it.
  new ResizeObserver(() => hooks.nearTop()).observe(log);
}

/**
 * Runs `mutate` (which adds or removes content) without moving what the
 * reader is looking at: the first message in view stays where it is, or
 * the view stays at the bottom if it was there.
 * @param {() => void} mutate
 */
export function keepAnchor(mutate) {
  const wasAtBottom = isAtBottom();
  const anchor = wasAtBottom ? null : firstVisibleItem();
  const top = anchor ? anchor.getBoundingClientRect().top : 0;
  mutate();
  if (wasAtBottom) {
    log.scrollTop = log.scrollHeight;
  } else if (anchor?.isConnected) {
    log.scrollTop += anchor.getBoundingClientRect().top - top;
  }
}

/**
 * The first item of the list whose bottom is below the top of the log,
 * found by bisection (the items are laid out top to bottom).
 * @returns {Element | null}
 */
function firstVisibleItem() {
  const items = messages.children;
  const top = log.getBoundingClientRect().top;
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
export function showFound(item) {
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
