// @ts-check
/**
 * Going to a message that is not where the reader is: a search result or a
 * quote's original, found by paging up when it is not far, or shown on its
 * own with the messages around it (a window away from the latest) until
 * the reader goes back to the latest.
 * @module jumps
 */

import * as attention from '../platform/attention.js';
import { RETRY_MS } from '../room/session.js';

/** @typedef {import('./timeline.js').Timeline} Timeline */
/** @typedef {import('../room/session.js').HistoryPage} HistoryPage */

/** Pages fetched while looking for a search result older than what is shown. */
const JUMP_PAGE = 200;
const JUMP_MAX_PAGES = 20;
/** Messages on each side of a result shown on its own, away from the latest. */
const WINDOW_HALF = 100;
/** The newest messages fetched when going back to the latest. */
const LATEST_PAGE = 100;

/**
 * @param {Timeline} t
 * Shows message `id` (a search result): at once if it is shown; by
 * fetching older pages if it is not far above; otherwise on its own, with
 * the messages around it.
 * @param {number} id
 */
export function jumpTo(t, id) {
  t.jump = null;
  const item = t.conversation.element(id);
  if (item) {
    t.scroll.showFound(item);
    return;
  }
  const oldest = t.conversation.oldest;
  if (oldest !== null && id < oldest && t.view.older !== 'start') {
    t.jump = { id, pages: 0 };
    pageTowards(t, t.jump);
  } else {
    openWindow(t, id);
  }
}

/**
 * @param {Timeline} t
 * Fetches the next page up while looking for `target.id`.
 * @param {{id: number, pages: number}} target
 */
function pageTowards(t, target) {
  if (t.jump !== target) return;
  if (target.pages === JUMP_MAX_PAGES) {
    openWindow(t, target.id);
    return;
  }
  const oldest = t.conversation.oldest;
  t.view.older = 'loading';
  t.view.olderError = '';
  t.scroll.keepAnchor(() => t.renderOlder());
  const sent = t.requestHistory(
    { before: oldest ?? target.id + 1, limit: JUMP_PAGE },
    (page) => {
      target.pages += 1;
      t.view.older = page.more ? 'more' : 'start';
      t.scroll.keepAnchor(() => {
        t.conversation.insert(page.messages);
        t.renderOlder();
      });
      if (t.jump !== target) return;
      const item = t.conversation.element(target.id);
      const first = page.messages[0];
      if (item || !page.more || !first || first.id < target.id) {
        t.jump = null;
        if (item) t.scroll.showFound(item);
        else attention.announce('That message is no longer in the t.conversation.');
        return;
      }
      pageTowards(t, target);
    },
    (code) => {
      if (code === 'rate_limited') {
        setTimeout(() => pageTowards(t, target), RETRY_MS);
        return;
      }
      t.jump = null;
      t.view.older = 'more';
      t.view.olderError = 'Earlier messages could not be loaded.';
      t.scroll.keepAnchor(() => t.renderOlder());
    },
  );
  if (!sent) {
    t.jump = null;
    t.view.older = 'more';
    t.renderOlder();
  }
}

/**
 * @param {Timeline} t
 * Replaces the view with the messages around `id`, away from the latest
 * ones, until the reader jumps back.
 * @param {number} id
 */
function openWindow(t, id) {
  t.resetView('window');
  t.renderOlder();
  /** @type {HistoryPage | null} */
  let before = null;
  /** @type {HistoryPage | null} */
  let after = null;
  const show = () => {
    if (!before || !after) return;
    t.conversation.insert([...before.messages, ...after.messages]);
    t.view.older = before.more ? 'more' : 'start';
    if (!after.more && !t.view.heldOverflow) {
      // Nothing newer than this page: it is the latest after all.
      t.view.mode = 'live';
      t.conversation.insert(t.view.held);
      t.view.held = [];
    }
    t.renderOlder();
    t.renderOlderBar();
    t.updateEmptyState();
    const item = t.conversation.element(id);
    if (item) t.scroll.showFound(item);
    else attention.announce('That message is no longer in the t.conversation.');
    if (t.view.mode === 'window') attention.announce('Showing older messages. Jump to latest to go back.');
  };
  /** @param {string} code */
  const failed = (code) => {
    t.view.older = 'more';
    t.view.olderError = code === 'rate_limited' ? 'Too many requests at once.' : 'These messages could not be loaded.';
    t.renderOlder();
  };
  t.requestHistory({ before: id + 1, limit: WINDOW_HALF }, (page) => { before = page; show(); }, failed);
  t.requestHistory({ after: id, limit: WINDOW_HALF }, (page) => { after = page; show(); }, failed);
}

/**
 * Leaves older messages for the newest ones, as they come.
 * @param {Timeline} t
 */
export function jumpToLatest(t) {
  t.resetView('live');
  t.renderOlder();
  t.requestHistory(
    { limit: LATEST_PAGE },
    (page) => {
      t.conversation.insert(page.messages);
      t.view.older = page.more && page.messages.length > 0 ? 'more' : 'start';
      t.renderOlder();
      t.updateEmptyState();
      t.scroll.scrollToBottom();
      t.maybeLoadOlder();
    },
    () => {
      t.view.older = 'more';
      t.view.olderError = 'Messages could not be loaded.';
      t.renderOlder();
    },
  );
}
