// @ts-check
/**
 * What the log shows and how it gets there: the latest messages as they
 * come, older pages as the reader scrolls up, the gap after a reconnect,
 * jumps to a message (a search result) and the window of older messages
 * around one, system lines, the empty room. The one owner of the view's
 * state; the messages themselves are the Conversation's.
 * @module timeline
 */

import * as attention from '../platform/attention.js';
import { Conversation } from './conversation.js';
import { byId } from '../platform/dom.js';
import * as identity from '../room/identity.js';
import { renderMessage } from '../message/view.js';
import * as people from '../people/people.js';
import * as scroll from './scroll.js';
import * as session from '../room/session.js';
import * as unread from './unread.js';

/** @typedef {import('./conversation.js').ChatMessage} ChatMessage */
/** @typedef {import('../room/session.js').HistoryPage} HistoryPage */

/** Older messages fetched each time the reader nears the top. */
const OLDER_PAGE = 50;
/** Start fetching older messages this close to the top. */
const LOAD_OLDER_WITHIN_PX = 300;
/** Pages fetched while looking for a search result older than what is shown. */
const JUMP_PAGE = 200;
const JUMP_MAX_PAGES = 20;
/** Messages on each side of a result shown on its own, away from the latest. */
const WINDOW_HALF = 100;
/** The newest messages fetched when going back to the latest. */
const LATEST_PAGE = 100;
/** Pages fetched to fill what was missed while disconnected. */
const GAP_PAGE = 200;
const GAP_MAX_PAGES = 10;
/** Live messages remembered while viewing older ones. */
const MAX_HELD = 1000;
/** Wait before asking again after `rate_limited`. */
const RETRY_MS = 1000;

const ui = {
  log: scroll.logElement(),
  historyTop: byId('history-top'),
  loadEarlier: /** @type {HTMLButtonElement} */ (byId('load-earlier')),
  historyStatus: byId('history-status'),
  olderBar: byId('older-bar'),
  olderBarText: byId('older-bar-text'),
  jumpLatest: /** @type {HTMLButtonElement} */ (byId('jump-latest')),
  emptyState: byId('empty-state'),
};

export const conversation = new Conversation(/** @type {HTMLOListElement} */ (byId('messages')), renderMessage);

/** @type {string | null} id of the conversation the shown messages belong to */
let room = null;
const view = {
  /** @type {'live' | 'window'} the latest messages as they come, or older ones around a search result */
  mode: /** @type {'live' | 'window'} */ ('live'),
  /** @type {'more' | 'loading' | 'start'} whether older messages may lie above what is shown */
  older: /** @type {'more' | 'loading' | 'start'} */ ('more'),
  /** why the last page of older messages failed, until the next try */
  olderError: '',
  /** bumped whenever the view starts over: answers to requests from before are dropped */
  generation: 0,
  /** @type {ChatMessage[]} live messages that came while viewing older ones */
  held: /** @type {ChatMessage[]} */ ([]),
  heldOverflow: false,
};
/** @type {{id: number, pages: number} | null} a search result being fetched */
let jump = null;

/** @param {{focusComposer: () => void}} hooks */
export function init(hooks) {
  scroll.wire({ nearTop: maybeLoadOlder, focusComposer: hooks.focusComposer });
  ui.loadEarlier.addEventListener('click', () => {
    view.olderError = '';
    loadOlder();
  });
  ui.jumpLatest.addEventListener('click', () => {
    jumpToLatest();
    hooks.focusComposer();
  });
  updateEmptyState();
  renderOlder();
}

/** The room the view shows, once joined. */
export function currentRoom() {
  return room;
}

/** Whether the view shows older messages, away from the latest. */
export function isAway() {
  return view.mode === 'window';
}

/**
 * Asks for a page of stored messages. The answer is dropped if the view has
 * started over since.
 * @param {{before?: number, after?: number, limit: number}} params
 * @param {(page: HistoryPage) => void} done
 * @param {(code: string, text: string) => void} failed
 * @returns {boolean} false when not connected
 */
function requestHistory(params, done, failed) {
  if (!identity.currentUser()) return false;
  return session.request({ kind: 'history', generation: view.generation, done, failed }, { type: 'history', ...params });
}

/**
 * A `history` answer arrived for `pending`.
 * @param {import('../room/session.js').Pending | undefined} pending
 * @param {HistoryPage} page
 */
export function historyAnswered(pending, page) {
  if (pending?.kind === 'history' && pending.generation === view.generation) pending.done(page);
}

/**
 * A `history` request was refused.
 * @param {Extract<import('../room/session.js').Pending, {kind: 'history'}>} pending
 * @param {string} code
 * @param {string} text
 */
export function historyRefused(pending, code, text) {
  if (pending.generation === view.generation) pending.failed(code, text);
}

/**
 * Joined (again). The same `room` is the same conversation: what is shown
 * stays, the welcome's history is added to it, and what was said while
 * this page was away is fetched. Another `room` is another conversation.
 * @param {{room: string, history: ChatMessage[], first_id: number}} welcome
 */
export function welcomed(welcome) {
  const sameRoom = room === welcome.room;
  const rejoined = room !== null;
  room = welcome.room;
  if (!sameRoom) unread.reset();
  unread.joining(welcome.room);
  const history = welcome.history;
  const lastShown = conversation.newest;
  if (!sameRoom || view.mode === 'window' || lastShown === null) {
    if (rejoined && !sameRoom) {
      resetView('live');
      system('The room restarted with a new conversation; the one before is not shown.', 'divider');
    } else if (view.mode === 'window') {
      resetView('live');
    }
    view.older = history.length > 0 ? 'more' : 'start';
    showPage(history);
  } else {
    // What the host cleared (or the room pruned) while this page was away
    // is gone for everyone: drop it here too.
    if (conversation.oldest !== null && conversation.oldest < welcome.first_id) {
      scroll.keepAnchor(() => conversation.keepFrom(welcome.first_id));
      if (conversation.size === 0) system('The host cleared the history');
    }
    showPage(history);
    // A full history that starts after the last message shown: some were
    // missed. (Ids may skip numbers, so this may find nothing.)
    const first = history[0];
    if (first && first.id > lastShown) fillGap(lastShown, first.id, 0);
  }
}

/** Joined: show what is there and fetch what is missing. */
export function settle() {
  updateEmptyState();
  renderOlder();
  maybeLoadOlder();
}

/**
 * Fetches the messages after `after` until the first one the welcome
 * brought (`until`), a page at a time. Past GAP_MAX_PAGES, the view starts
 * at the welcome's messages instead; older ones are a scroll away.
 * @param {number} after
 * @param {number} until
 * @param {number} pages fetched so far
 */
function fillGap(after, until, pages) {
  if (pages === GAP_MAX_PAGES) {
    scroll.keepAnchor(() => conversation.keepFrom(until));
    view.older = 'more';
    renderOlder();
    return;
  }
  requestHistory(
    { after, limit: GAP_PAGE },
    (page) => {
      showPage(page.messages);
      const last = page.messages.at(-1);
      if (!page.more || !last || last.id >= until) return;
      fillGap(last.id, until, pages + 1);
    },
    (code) => {
      if (code !== 'rate_limited') return;
      const generation = view.generation;
      setTimeout(() => {
        if (view.generation === generation) fillGap(after, until, pages);
      }, RETRY_MS);
    },
  );
}

/**
 * A message as it is said: shown at the bottom, or held while the reader
 * views older messages.
 * @param {ChatMessage} message
 * @param {boolean} mine
 */
export function live(message, mine) {
  if (conversation.has(message.id)) return;
  if (view.mode === 'window') {
    // Shown when the reader goes back to the latest.
    if (view.held.length < MAX_HELD) view.held.push(message);
    else view.heldOverflow = true;
    renderOlderBar();
  } else {
    const wasAtBottom = scroll.isAtBottom();
    conversation.insert([message]);
    updateEmptyState();
    if (wasAtBottom || mine) scroll.scrollToBottom();
    else scroll.arrivedBelow();
  }
}

/**
 * Shows stored messages (a history page, a welcome's history) where they
 * belong, without moving what the reader is looking at.
 * @param {ChatMessage[]} messages
 */
function showPage(messages) {
  scroll.keepAnchor(() => conversation.insert(messages));
  updateEmptyState();
}

/**
 * Adds a system line ("Ann joined") at the end.
 * @param {string} text
 * @param {string} [extraClass]
 */
export function system(text, extraClass) {
  // Below older messages it would be out of place; the latest view is reloaded anyway.
  if (view.mode === 'window') return;
  const wasAtBottom = scroll.isAtBottom();
  conversation.appendSystem(text, extraClass);
  if (wasAtBottom) scroll.scrollToBottom();
  updateEmptyState();
}

export function updateEmptyState() {
  const alone = people.count() <= 1;
  ui.emptyState.hidden = !(alone && conversation.size === 0);
  ui.historyTop.hidden = room === null || !ui.emptyState.hidden;
}

/** The host cleared the history: everyone's view empties. */
export function cleared() {
  unread.reset();
  resetView('live');
  view.older = 'start';
  system('The host cleared the history');
  attention.announce('The host cleared the history');
  renderOlder();
}

/**
 * Calls `change` on message `id` wherever it is: shown, or held while the
 * reader views older messages. Returns whether it is shown.
 * @param {number} id
 * @param {(message: ChatMessage) => void} change
 */
export function updateMessage(id, change) {
  const shown = conversation.message(id);
  if (shown) change(shown);
  const held = view.held.find((message) => message.id === id);
  if (held && held !== shown) change(held);
  return !!shown;
}

/**
 * Calls `visit` on every message the page has: shown or held.
 * @param {(message: ChatMessage, shown: boolean) => void} visit
 */
export function eachMessage(visit) {
  for (const message of conversation.messages.values()) visit(message, true);
  for (const message of view.held) visit(message, false);
}

/**
 * Builds message `id`'s item again after a change. Focus stays where it
 * was: on the same control, the editor or palette, or the message.
 * @param {number} id
 */
export function refresh(id) {
  const old = conversation.element(id);
  if (!old) return;
  const active = /** @type {HTMLElement | null} */ (document.activeElement);
  const hadFocus = !!active && old.contains(active);
  const key = hadFocus && active !== old ? active?.dataset.focusKey : undefined;
  const field = active instanceof HTMLTextAreaElement || active instanceof HTMLInputElement ? active : null;
  const selection = field ? [field.selectionStart, field.selectionEnd] : null;
  /** @type {HTMLLIElement | undefined} */
  let item;
  scroll.keepAnchor(() => {
    item = conversation.rerender(id);
  });
  if (!item || !hadFocus || !active) return;
  if (active.isConnected && item.contains(active)) {
    // The editor or the palette, moved into the new item.
    active.focus({ preventScroll: true });
    if (field && selection) field.setSelectionRange(selection[0], selection[1]);
    return;
  }
  const same = key ? /** @type {HTMLElement | null} */ (item.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)) : null;
  if (same) {
    same.focus({ preventScroll: true });
  } else {
    item.tabIndex = -1;
    item.focus({ preventScroll: true });
  }
}

/** The connection closed: what was being fetched will not come. */
export function connectionLost() {
  if (view.older === 'loading') view.older = 'more';
  jump = null;
  renderOlder();
}

/**
 * Starts the view over, empty: in `mode`, with older messages to fetch.
 * Answers to requests made for the view before are dropped.
 * @param {'live' | 'window'} mode
 */
function resetView(mode) {
  view.generation += 1;
  view.mode = mode;
  view.older = 'loading';
  view.olderError = '';
  view.held = [];
  view.heldOverflow = false;
  jump = null;
  conversation.clear();
  scroll.reset();
  renderOlderBar();
  updateEmptyState();
}

/** Fetches older messages when the reader is near the top, or when the view does not fill the log. */
function maybeLoadOlder() {
  if (view.older !== 'more' || view.olderError || !identity.currentUser() || ui.log.clientHeight === 0) return;
  // Tabbing to the button scrolls the log to the top: the button is for that.
  if (document.activeElement === ui.loadEarlier) return;
  if (ui.log.scrollTop < LOAD_OLDER_WITHIN_PX) loadOlder();
}

/** Fetches the page of messages just older than the oldest shown. */
function loadOlder() {
  if (view.older !== 'more' || !identity.currentUser()) return;
  const oldest = conversation.oldest;
  if (oldest === null) {
    view.older = 'start';
    renderOlder();
    return;
  }
  const hadFocus = document.activeElement === ui.loadEarlier;
  view.older = 'loading';
  view.olderError = '';
  scroll.keepAnchor(renderOlder);
  if (hadFocus) ui.log.focus({ preventScroll: true });
  const sent = requestHistory(
    { before: oldest, limit: OLDER_PAGE },
    (page) => {
      view.older = page.more ? 'more' : 'start';
      let added = 0;
      scroll.keepAnchor(() => {
        added = conversation.insert(page.messages).length;
        renderOlder();
      });
      if (added > 0) attention.announce(`${added} earlier message${added === 1 ? '' : 's'} loaded`);
      if (hadFocus && !ui.loadEarlier.hidden && document.activeElement === ui.log) ui.loadEarlier.focus({ preventScroll: true });
      maybeLoadOlder();
    },
    (code) => {
      if (code === 'rate_limited') {
        const generation = view.generation;
        setTimeout(() => {
          if (view.generation !== generation || view.older !== 'loading') return;
          view.older = 'more';
          loadOlder();
        }, RETRY_MS);
        return;
      }
      view.older = 'more';
      view.olderError = 'Earlier messages could not be loaded.';
      scroll.keepAnchor(renderOlder);
    },
  );
  if (!sent) {
    view.older = 'more';
    scroll.keepAnchor(renderOlder);
  }
}

/** Shows whether older messages are loading, can be loaded, or there are none. */
function renderOlder() {
  const { older, olderError } = view;
  ui.loadEarlier.hidden = older !== 'more';
  ui.loadEarlier.textContent = olderError ? 'Try again' : 'Load earlier messages';
  ui.historyStatus.dataset.kind = olderError ? 'error' : older;
  ui.historyStatus.textContent =
    older === 'loading' ? 'Loading earlier messages…' : older === 'start' ? 'Beginning of the conversation' : olderError;
}

/**
 * Shows message `id` (a search result): at once if it is shown; by
 * fetching older pages if it is not far above; otherwise on its own, with
 * the messages around it.
 * @param {number} id
 */
export function jumpTo(id) {
  jump = null;
  const item = conversation.element(id);
  if (item) {
    scroll.showFound(item);
    return;
  }
  const oldest = conversation.oldest;
  if (oldest !== null && id < oldest && view.older !== 'start') {
    jump = { id, pages: 0 };
    pageTowards(jump);
  } else {
    openWindow(id);
  }
}

/**
 * Fetches the next page up while looking for `target.id`.
 * @param {{id: number, pages: number}} target
 */
function pageTowards(target) {
  if (jump !== target) return;
  if (target.pages === JUMP_MAX_PAGES) {
    openWindow(target.id);
    return;
  }
  const oldest = conversation.oldest;
  view.older = 'loading';
  view.olderError = '';
  scroll.keepAnchor(renderOlder);
  const sent = requestHistory(
    { before: oldest ?? target.id + 1, limit: JUMP_PAGE },
    (page) => {
      target.pages += 1;
      view.older = page.more ? 'more' : 'start';
      scroll.keepAnchor(() => {
        conversation.insert(page.messages);
        renderOlder();
      });
      if (jump !== target) return;
      const item = conversation.element(target.id);
      const first = page.messages[0];
      if (item || !page.more || !first || first.id < target.id) {
        jump = null;
        if (item) scroll.showFound(item);
        else attention.announce('That message is no longer in the conversation.');
        return;
      }
      pageTowards(target);
    },
    (code) => {
      if (code === 'rate_limited') {
        setTimeout(() => pageTowards(target), RETRY_MS);
        return;
      }
      jump = null;
      view.older = 'more';
      view.olderError = 'Earlier messages could not be loaded.';
      scroll.keepAnchor(renderOlder);
    },
  );
  if (!sent) {
    jump = null;
    view.older = 'more';
    renderOlder();
  }
}

/**
 * Replaces the view with the messages around `id`, away from the latest
 * ones, until the reader jumps back.
 * @param {number} id
 */
function openWindow(id) {
  resetView('window');
  renderOlder();
  /** @type {HistoryPage | null} */
  let before = null;
  /** @type {HistoryPage | null} */
  let after = null;
  const show = () => {
    if (!before || !after) return;
    conversation.insert([...before.messages, ...after.messages]);
    view.older = before.more ? 'more' : 'start';
    if (!after.more && !view.heldOverflow) {
      // Nothing newer than this page: it is the latest after all.
      view.mode = 'live';
      conversation.insert(view.held);
      view.held = [];
    }
    renderOlder();
    renderOlderBar();
    updateEmptyState();
    const item = conversation.element(id);
    if (item) scroll.showFound(item);
    else attention.announce('That message is no longer in the conversation.');
    if (view.mode === 'window') attention.announce('Showing older messages. Jump to latest to go back.');
  };
  /** @param {string} code */
  const failed = (code) => {
    view.older = 'more';
    view.olderError = code === 'rate_limited' ? 'Too many requests at once.' : 'These messages could not be loaded.';
    renderOlder();
  };
  requestHistory({ before: id + 1, limit: WINDOW_HALF }, (page) => { before = page; show(); }, failed);
  requestHistory({ after: id, limit: WINDOW_HALF }, (page) => { after = page; show(); }, failed);
}

/** Leaves older messages for the newest ones, as they come. */
export function jumpToLatest() {
  resetView('live');
  renderOlder();
  requestHistory(
    { limit: LATEST_PAGE },
    (page) => {
      conversation.insert(page.messages);
      view.older = page.more && page.messages.length > 0 ? 'more' : 'start';
      renderOlder();
      updateEmptyState();
      scroll.scrollToBottom();
      maybeLoadOlder();
    },
    () => {
      view.older = 'more';
      view.olderError = 'Messages could not be loaded.';
      renderOlder();
    },
  );
}

/** The bar shown while viewing older messages, with how many came since. */
function renderOlderBar() {
  const inWindow = view.mode === 'window';
  ui.olderBar.hidden = !inWindow;
  const fresh = view.held.length;
  ui.olderBarText.textContent = `You are viewing older messages${fresh > 0 ? ` · ${fresh}${view.heldOverflow ? '+' : ''} new` : ''}`;
}
