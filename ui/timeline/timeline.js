// @ts-check
/**
 * What the log shows and how it gets there: the latest messages as they
 * come, older pages as the reader scrolls up, the gap after a reconnect,
 * jumps to a message (a search result) and the window of older messages
 * around one, system lines, the empty room. The one owner of one
 * conversation view's state; the messages themselves are its
 * Conversation's. One per conversation.
 * @module timeline
 */

import * as attention from '../platform/attention.js';
import { jumpTo, jumpToLatest } from './jumps.js';
import * as identity from '../room/identity.js';
import * as session from '../room/session.js';

/** @typedef {import('./conversation.js').ChatMessage} ChatMessage */
/** @typedef {import('./conversation.js').Conversation} Conversation */
/** @typedef {import('./scroll.js').Scroll} Scroll */
/** @typedef {import('./unread.js').UnreadMarker} UnreadMarker */
/** @typedef {import('../people/people.js').PeopleList} PeopleList */
/** @typedef {import('../room/session.js').HistoryPage} HistoryPage */

/** Older messages fetched each time the reader nears the top. */
const OLDER_PAGE = 50;
/** Start fetching older messages this close to the top. */
const LOAD_OLDER_WITHIN_PX = 300;
/** Pages fetched to fill what was missed while disconnected. */
const GAP_PAGE = 200;
const GAP_MAX_PAGES = 10;
/** Live messages remembered while viewing older ones. */
const MAX_HELD = 1000;

/**
 * The elements a timeline shows itself in.
 * @typedef {object} TimelineElements
 * @property {HTMLElement} historyTop what is above the oldest message shown
 * @property {HTMLButtonElement} loadEarlier "Load earlier messages"
 * @property {HTMLElement} historyStatus loading, the beginning, or why not
 * @property {HTMLElement} olderBar the bar shown while viewing older messages
 * @property {HTMLElement} olderBarText what it says
 * @property {HTMLButtonElement} jumpLatest "Jump to latest"
 * @property {HTMLElement} emptyState what an empty room says
 */

export class Timeline {
  /**
   * @param {{elements: TimelineElements, conversation: Conversation, scroll: Scroll,
   *   unread: UnreadMarker, people: PeopleList}} parts
   *   where it shows itself; the messages, the log, the unread marker and
   *   the people of the same conversation
   */
  constructor(parts) {
    this.ui = { ...parts.elements, log: parts.scroll.log };
    this.conversation = parts.conversation;
    this.scroll = parts.scroll;
    this.unread = parts.unread;
    this.people = parts.people;
    /** @type {string | null} id of the conversation the shown messages belong to */
    this.room = null;
    this.view = {
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
    this.jump = null;
  }

  /** @param {{focusComposer: () => void}} hooks */
  mount(hooks) {
    this.scroll.mount({ nearTop: () => this.maybeLoadOlder(), focusComposer: hooks.focusComposer });
    this.ui.loadEarlier.addEventListener('click', () => {
      this.view.olderError = '';
      this.loadOlder();
    });
    this.ui.jumpLatest.addEventListener('click', () => {
      this.jumpToLatest();
      hooks.focusComposer();
    });
    this.updateEmptyState();
    this.renderOlder();
  }

  /** The room the view shows, once joined. */
  currentRoom() {
    return this.room;
  }

  /** Whether the view shows older messages, away from the latest. */
  isAway() {
    return this.view.mode === 'window';
  }

  /**
   * Asks for a page of stored messages. The answer is dropped if the view has
   * started over since.
   * @param {{before?: number, after?: number, limit: number}} params
   * @param {(page: HistoryPage) => void} done
   * @param {(code: string, text: string) => void} failed
   * @returns {boolean} false when not connected
   */
  requestHistory(params, done, failed) {
    if (!identity.currentUser()) return false;
    return session.request({ kind: 'history', generation: this.view.generation, done, failed }, { type: 'history', ...params });
  }

  /**
   * A `history` answer arrived for `pending`.
   * @param {import('../room/session.js').Pending | undefined} pending
   * @param {HistoryPage} page
   */
  historyAnswered(pending, page) {
    if (pending?.kind === 'history' && pending.generation === this.view.generation) pending.done(page);
  }

  /**
   * A `history` request was refused.
   * @param {Extract<import('../room/session.js').Pending, {kind: 'history'}>} pending
   * @param {string} code
   * @param {string} text
   */
  historyRefused(pending, code, text) {
    if (pending.generation === this.view.generation) pending.failed(code, text);
  }

  /**
   * Joined (again). The same `room` is the same conversation: what is shown
   * stays, the welcome's history is added to it, and what was said while
   * this page was away is fetched. Another `room` is another this.conversation.
   * @param {{room: string, history: ChatMessage[], first_id: number}} welcome
   */
  welcomed(welcome) {
    const sameRoom = this.room === welcome.room;
    const rejoined = this.room !== null;
    this.room = welcome.room;
    if (!sameRoom) this.unread.reset();
    this.unread.joining(welcome.room);
    const history = welcome.history;
    const lastShown = this.conversation.newest;
    if (!sameRoom || this.view.mode === 'window' || lastShown === null) {
      if (rejoined && !sameRoom) {
        this.resetView('live');
        this.system('The room restarted with a new conversation; the one before is not shown.', 'divider');
      } else if (this.view.mode === 'window') {
        this.resetView('live');
      }
      this.view.older = history.length > 0 ? 'more' : 'start';
      this.showPage(history);
    } else {
      // What the host cleared (or the room pruned) while this page was away
      // is gone for everyone: drop it here too.
      if (this.conversation.oldest !== null && this.conversation.oldest < welcome.first_id) {
        this.scroll.keepAnchor(() => this.conversation.keepFrom(welcome.first_id));
        if (this.conversation.size === 0) this.system('The host cleared the history');
      }
      this.showPage(history);
      // A full history that starts after the last message shown: some were
      // missed. (Ids may skip numbers, so this may find nothing.)
      const first = history[0];
      if (first && first.id > lastShown) this.fillGap(lastShown, first.id, 0);
    }
  }

  /** Joined: show what is there and fetch what is missing. */
  settle() {
    this.updateEmptyState();
    this.renderOlder();
    this.maybeLoadOlder();
  }

  /**
   * Fetches the messages after `after` until the first one the welcome
   * brought (`until`), a page at a time. Past GAP_MAX_PAGES, the view starts
   * at the welcome's messages instead; older ones are a scroll away.
   * @param {number} after
   * @param {number} until
   * @param {number} pages fetched so far
   */
  fillGap(after, until, pages) {
    if (pages === GAP_MAX_PAGES) {
      this.scroll.keepAnchor(() => this.conversation.keepFrom(until));
      this.view.older = 'more';
      this.renderOlder();
      return;
    }
    this.requestHistory(
      { after, limit: GAP_PAGE },
      (page) => {
        this.showPage(page.messages);
        const last = page.messages.at(-1);
        if (!page.more || !last || last.id >= until) return;
        this.fillGap(last.id, until, pages + 1);
      },
      (code) => {
        if (code !== 'rate_limited') return;
        const generation = this.view.generation;
        setTimeout(() => {
          if (this.view.generation === generation) this.fillGap(after, until, pages);
        }, session.RETRY_MS);
      },
    );
  }

  /**
   * A message as it is said: shown at the bottom, or held while the reader
   * views older messages.
   * @param {ChatMessage} message
   * @param {boolean} mine
   */
  live(message, mine) {
    if (this.conversation.has(message.id)) return;
    if (this.view.mode === 'window') {
      // Shown when the reader goes back to the latest.
      if (this.view.held.length < MAX_HELD) this.view.held.push(message);
      else this.view.heldOverflow = true;
      this.renderOlderBar();
    } else {
      const wasAtBottom = this.scroll.isAtBottom();
      this.conversation.insert([message]);
      this.updateEmptyState();
      if (wasAtBottom || mine) this.scroll.scrollToBottom();
      else this.scroll.arrivedBelow();
    }
  }

  /**
   * Shows stored messages (a history page, a welcome's history) where they
   * belong, without moving what the reader is looking at.
   * @param {ChatMessage[]} messages
   */
  showPage(messages) {
    this.scroll.keepAnchor(() => this.conversation.insert(messages));
    this.updateEmptyState();
  }

  /**
   * Adds a system line ("Ann joined") at the end.
   * @param {string} text
   * @param {string} [extraClass]
   */
  system(text, extraClass) {
    // Below older messages it would be out of place; the latest view is reloaded anyway.
    if (this.view.mode === 'window') return;
    const wasAtBottom = this.scroll.isAtBottom();
    this.conversation.appendSystem(text, extraClass);
    if (wasAtBottom) this.scroll.scrollToBottom();
    this.updateEmptyState();
  }

  updateEmptyState() {
    const alone = this.people.count() <= 1;
    this.ui.emptyState.hidden = !(alone && this.conversation.size === 0);
    this.ui.historyTop.hidden = this.room === null || !this.ui.emptyState.hidden;
  }

  /** The host cleared the history: everyone's view empties. */
  cleared() {
    this.unread.reset();
    this.resetView('live');
    this.view.older = 'start';
    this.system('The host cleared the history');
    attention.announce('The host cleared the history');
    this.renderOlder();
  }

  /**
   * Calls `change` on message `id` wherever it is: shown, or held while the
   * reader views older messages. Returns whether it is shown.
   * @param {number} id
   * @param {(message: ChatMessage) => void} change
   */
  updateMessage(id, change) {
    const shown = this.conversation.message(id);
    if (shown) change(shown);
    const held = this.view.held.find((message) => message.id === id);
    if (held && held !== shown) change(held);
    return !!shown;
  }

  /**
   * Calls `visit` on every message the page has: shown or held.
   * @param {(message: ChatMessage, shown: boolean) => void} visit
   */
  eachMessage(visit) {
    for (const message of this.conversation.messages.values()) visit(message, true);
    for (const message of this.view.held) visit(message, false);
  }

  /**
   * Builds message `id`'s item again after a change. Focus stays where it
   * was: on the same control, the editor or palette, or the message.
   * @param {number} id
   */
  refresh(id) {
    const old = this.conversation.element(id);
    if (!old) return;
    const active = /** @type {HTMLElement | null} */ (document.activeElement);
    const hadFocus = !!active && old.contains(active);
    const key = hadFocus && active !== old ? active?.dataset.focusKey : undefined;
    const field = active instanceof HTMLTextAreaElement || active instanceof HTMLInputElement ? active : null;
    const selection = field ? [field.selectionStart, field.selectionEnd] : null;
    /** @type {HTMLLIElement | undefined} */
    let item;
    this.scroll.keepAnchor(() => {
      item = this.conversation.rerender(id);
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
  connectionLost() {
    if (this.view.older === 'loading') this.view.older = 'more';
    this.jump = null;
    this.renderOlder();
  }

  /**
   * Starts the view over, empty: in `mode`, with older messages to fetch.
   * Answers to requests made for the view before are dropped.
   * @param {'live' | 'window'} mode
   */
  resetView(mode) {
    this.view.generation += 1;
    this.view.mode = mode;
    this.view.older = 'loading';
    this.view.olderError = '';
    this.view.held = [];
    this.view.heldOverflow = false;
    this.jump = null;
    this.conversation.clear();
    this.scroll.reset();
    this.renderOlderBar();
    this.updateEmptyState();
  }

  /** Fetches older messages when the reader is near the top, or when the view does not fill the log. */
  maybeLoadOlder() {
    if (this.view.older !== 'more' || this.view.olderError || !identity.currentUser() || this.ui.log.clientHeight === 0) return;
    // Tabbing to the button scrolls the log to the top: the button is for that.
    if (document.activeElement === this.ui.loadEarlier) return;
    if (this.ui.log.scrollTop < LOAD_OLDER_WITHIN_PX) this.loadOlder();
  }

  /** Fetches the page of messages just older than the oldest shown. */
  loadOlder() {
    if (this.view.older !== 'more' || !identity.currentUser()) return;
    const oldest = this.conversation.oldest;
    if (oldest === null) {
      this.view.older = 'start';
      this.renderOlder();
      return;
    }
    const hadFocus = document.activeElement === this.ui.loadEarlier;
    this.view.older = 'loading';
    this.view.olderError = '';
    this.scroll.keepAnchor(() => this.renderOlder());
    if (hadFocus) this.ui.log.focus({ preventScroll: true });
    const sent = this.requestHistory(
      { before: oldest, limit: OLDER_PAGE },
      (page) => {
        this.view.older = page.more ? 'more' : 'start';
        let added = 0;
        this.scroll.keepAnchor(() => {
          added = this.conversation.insert(page.messages).length;
          this.renderOlder();
        });
        if (added > 0) attention.announce(`${added} earlier message${added === 1 ? '' : 's'} loaded`);
        if (hadFocus && !this.ui.loadEarlier.hidden && document.activeElement === this.ui.log) this.ui.loadEarlier.focus({ preventScroll: true });
        this.maybeLoadOlder();
      },
      (code) => {
        if (code === 'rate_limited') {
          const generation = this.view.generation;
          setTimeout(() => {
            if (this.view.generation !== generation || this.view.older !== 'loading') return;
            this.view.older = 'more';
            this.loadOlder();
          }, session.RETRY_MS);
          return;
        }
        this.view.older = 'more';
        this.view.olderError = 'Earlier messages could not be loaded.';
        this.scroll.keepAnchor(() => this.renderOlder());
      },
    );
    if (!sent) {
      this.view.older = 'more';
      this.scroll.keepAnchor(() => this.renderOlder());
    }
  }

  /**
   * Shows message `id` (a search result, a quote's original), loading it
   * if needed: see jumps.js.
   * @param {number} id
   */
  jumpTo(id) {
    jumpTo(this, id);
  }

  /** Leaves older messages for the newest ones, as they come. */
  jumpToLatest() {
    jumpToLatest(this);
  }

  /** Shows whether older messages are loading, can be loaded, or there are none. */
  renderOlder() {
    const { older, olderError } = this.view;
    this.ui.loadEarlier.hidden = older !== 'more';
    this.ui.loadEarlier.textContent = olderError ? 'Try again' : 'Load earlier messages';
    this.ui.historyStatus.dataset.kind = olderError ? 'error' : older;
    this.ui.historyStatus.textContent =
      older === 'loading' ? 'Loading earlier messages…' : older === 'start' ? 'Beginning of the conversation' : olderError;
  }





  /** The bar shown while viewing older messages, with how many came since. */
  renderOlderBar() {
    const inWindow = this.view.mode === 'window';
    this.ui.olderBar.hidden = !inWindow;
    const fresh = this.view.held.length;
    this.ui.olderBarText.textContent = `You are viewing older messages${fresh > 0 ? ` · ${fresh}${this.view.heldOverflow ? '+' : ''} new` : ''}`;
  }
}
