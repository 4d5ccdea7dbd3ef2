// @ts-check
/**
 * The search panel: a dialog with a field. Typing searches the stored
 * conversation (once the typing pauses) and lists what matches, newest
 * first, with the matching words marked; choosing a result jumps to it.
 * Opens with the header's button, Ctrl+K / Cmd+K, or `/` outside a text
 * field; Escape closes it and gives focus back.
 * @module search
 */

import { byId, el } from '../platform/dom.js';
import { formatWhen, highlightedSnippet, searchTerms } from '../message/render.js';

/** @typedef {import('../timeline/conversation.js').ChatMessage} ChatMessage */

/** How long typing must pause before the query goes out. */
const DEBOUNCE_MS = 250;
/** Results asked for (the server allows up to 100). */
export const SEARCH_LIMIT = 50;

/**
 * @typedef {object} SearchHooks
 * @property {(query: string) => boolean} send sends `search`; false when not connected
 * @property {(id: number) => void} choose shows message `id` in the conversation
 * @property {() => boolean} canOpen false while another dialog has the page
 */

export class SearchPanel {
  /** @param {SearchHooks} hooks */
  constructor(hooks) {
    this.hooks = hooks;
    this.dialog = /** @type {HTMLDialogElement} */ (byId('search-dialog'));
    this.input = /** @type {HTMLInputElement} */ (byId('search-input'));
    this.status = byId('search-status');
    this.results = byId('search-results');
    this.openButton = /** @type {HTMLButtonElement} */ (byId('search-button'));
    /** @type {string | null} the query sent last, whose results are awaited or shown */
    this.sent = null;
    /** Whether `sent` is still unanswered. */
    this.waiting = false;
    /** @type {{query: string, count: number} | null} the answer the list shows */
    this.shown = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {Element | null} where focus goes back to on Escape */
    this.returnTo = null;
    this.restoreFocus = true;
    this.#listen();
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** The query as typed, trimmed: what is sent and compared. */
  current() {
    return this.input.value.trim();
  }

  #listen() {
    this.openButton.addEventListener('click', () => this.open());
    byId('search-close').addEventListener('click', () => this.close());
    document.addEventListener('keydown', (event) => {
      const key = event.key.toLowerCase();
      if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && key === 'k') {
        event.preventDefault();
        this.open();
      } else if (event.key === '/' && !event.ctrlKey && !event.metaKey && !event.altKey && !isTextField(event.target)) {
        event.preventDefault();
        this.open();
      }
    });
    this.input.addEventListener('input', () => this.schedule());
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        // A search field would only clear itself: Escape closes the panel.
        event.preventDefault();
        this.close();
      } else if (event.key === 'Enter') {
        event.preventDefault();
        this.run(true);
      } else if (event.key === 'ArrowDown') {
        const first = this.buttons()[0];
        if (first) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    this.results.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
      const buttons = this.buttons();
      const index = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
      if (index === -1) return;
      event.preventDefault();
      const next = event.key === 'ArrowDown' ? buttons[index + 1] : buttons[index - 1];
      if (next) next.focus();
      else if (event.key === 'ArrowUp') this.input.focus();
    });
    this.results.addEventListener('click', (event) => {
      const button = /** @type {Element} */ (event.target).closest('button.result');
      if (!(button instanceof HTMLButtonElement)) return;
      const id = Number(button.dataset.id);
      this.close(false);
      this.hooks.choose(id);
    });
    this.dialog.addEventListener('close', () => {
      clearTimeout(this.timer);
      const target = this.returnTo;
      this.returnTo = null;
      if (this.restoreFocus && target instanceof HTMLElement && target.isConnected) target.focus();
    });
  }

  /** @returns {HTMLButtonElement[]} */
  buttons() {
    return [...this.results.querySelectorAll('button.result')].map((b) => /** @type {HTMLButtonElement} */ (b));
  }

  /** Opens the panel (or focuses its field if open), keeping the last search. */
  open() {
    if (this.isOpen) {
      this.input.focus();
      this.input.select();
      return;
    }
    if (!this.hooks.canOpen()) return;
    this.returnTo = document.activeElement;
    this.restoreFocus = true;
    this.dialog.showModal();
    this.input.focus();
    this.input.select();
    // The conversation may have changed since: ask again.
    if (this.current()) this.run(true);
    else this.showIdle();
  }

  /** @param {boolean} [restoreFocus] give focus back to where it was */
  close(restoreFocus = true) {
    this.restoreFocus = restoreFocus;
    if (this.isOpen) this.dialog.close();
  }

  schedule() {
    clearTimeout(this.timer);
    const query = this.current();
    if (!query) {
      this.sent = null;
      this.waiting = false;
      this.showIdle();
      return;
    }
    if (this.shown && query === this.shown.query && !this.waiting) {
      // Back to what the list shows (e.g. a space typed and removed).
      this.showCount(this.shown.query, this.shown.count);
      return;
    }
    this.showBusy();
    this.timer = setTimeout(() => this.run(false), DEBOUNCE_MS);
  }

  /**
   * Sends the query now.
   * @param {boolean} again also when this query's results are already shown
   */
  run(again) {
    clearTimeout(this.timer);
    const query = this.current();
    if (!query) {
      this.showIdle();
      return;
    }
    if (!again && query === this.sent && this.waiting) return;
    this.sent = query;
    if (!this.hooks.send(query)) {
      this.waiting = false;
      this.showMessage('Not connected: search works again once the room is back.');
      return;
    }
    this.waiting = true;
    this.showBusy();
  }

  showBusy() {
    this.status.textContent = 'Searching…';
    this.status.dataset.kind = 'busy';
  }

  /** The connection came back or the conversation changed: search again if open. */
  refresh() {
    if (this.isOpen && this.current()) this.run(true);
  }

  /** The connection dropped: what was asked will not be answered. */
  lost() {
    if (this.waiting && this.isOpen) this.showMessage('Not connected: search works again once the room is back.');
    this.waiting = false;
  }

  /**
   * Shows the answer to a search, unless it is for a query no longer current.
   * @param {{query: string, messages: ChatMessage[]}} answer
   */
  showResults(answer) {
    if (answer.query !== this.sent) return;
    this.waiting = false;
    if (!this.isOpen || answer.query !== this.current()) return;
    const terms = searchTerms(answer.query);
    const items = answer.messages.map((message) => {
      const button = el('button', 'result');
      button.type = 'button';
      button.dataset.id = String(message.id);
      const meta = el('span', 'result-meta');
      const time = el('time', undefined, formatWhen(message.ts));
      time.dateTime = new Date(message.ts).toISOString();
      meta.append(el('span', 'who', message.from.name), time);
      button.append(meta, highlightedSnippet(message.text, terms));
      const item = el('li');
      item.append(button);
      return item;
    });
    this.results.replaceChildren(...items);
    this.shown = { query: answer.query, count: items.length };
    this.showCount(answer.query, items.length);
  }

  /**
   * @param {string} query
   * @param {number} count
   */
  showCount(query, count) {
    if (count === 0) {
      this.status.textContent = `No messages match “${query}”. Try fewer or shorter words.`;
      this.status.dataset.kind = 'none';
    } else {
      this.status.textContent =
        count >= SEARCH_LIMIT ? `The ${count} most recent matches` : `${count} message${count === 1 ? '' : 's'} found`;
      this.status.dataset.kind = 'found';
    }
  }

  /**
   * The server refused the search.
   * @param {string} query
   * @param {string} code
   */
  failed(query, code) {
    this.waiting = false;
    if (query !== this.sent || !this.isOpen) return;
    if (code === 'rate_limited') {
      this.showBusy();
      this.timer = setTimeout(() => this.run(true), 1000);
    } else {
      this.showMessage('Search is not available right now. Try again in a moment.');
    }
  }

  showIdle() {
    this.shown = null;
    this.results.replaceChildren();
    this.status.textContent = '';
    delete this.status.dataset.kind;
  }

  /** @param {string} text */
  showMessage(text) {
    this.shown = null;
    this.results.replaceChildren();
    this.status.textContent = text;
    this.status.dataset.kind = 'error';
  }
}

/**
 * Whether typing `/` in `target` means the character, not the shortcut.
 * @param {EventTarget | null} target
 */
function isTextField(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (!(target instanceof HTMLInputElement)) return false;
  return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file', 'image'].includes(target.type);
}
