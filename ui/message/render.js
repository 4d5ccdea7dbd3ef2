// @ts-check
/**
 * Builds DOM for chat content: avatars, times, system lines, and search
 * results with their matching words marked. Everything a peer sent goes in
 * through `textContent` or attributes set on elements we create; nothing
 * from a peer is ever parsed as HTML. Message text itself is format.js's.
 * @module render
 */

import { el } from '../platform/dom.js';

/** Most words marked in one search result. */
const MAX_MARKED = 50;

/**
 * A stable, pleasant colour for a user id.
 * @param {number} id
 * @returns {string}
 */
export function colorFor(id) {
  const hue = (id * 137.508) % 360;
  return `hsl(${hue.toFixed(0)} 55% 45%)`;
}

/**
 * A round avatar with the name's initial, in the person's colour (by their
 * `uid` when the room gives one, so it stays across reconnects).
 * @param {{id: number, uid?: string, name: string}} user
 * @returns {HTMLSpanElement}
 */
export function avatar(user) {
  const node = el('span', 'avatar', initial(user.name));
  node.style.background = colorFor(user.uid ? hash(user.uid) : user.id);
  node.setAttribute('aria-hidden', 'true');
  return node;
}

/**
 * A small number from a string (FNV-1a), to pick a colour.
 * @param {string} text
 */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 100003;
}

/**
 * @param {string} name
 * @returns {string}
 */
export function initial(name) {
  const first = Array.from(name.trim())[0] ?? '?';
  return first.toLocaleUpperCase();
}

/**
 * @param {number} ts epoch ms
 * @returns {string}
 */
export function formatTime(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/**
 * A centred system line ("Ann joined").
 * @param {string} text
 * @param {string} [extraClass]
 * @returns {HTMLLIElement}
 */
export function systemLine(text, extraClass) {
  const item = el('li', extraClass ? `system ${extraClass}` : 'system', text);
  return item;
}

/**
 * Runs of characters that make up a word, as the server's search index cuts
 * them (letters, digits, private-use characters and symbols such as emoji),
 * plus combining marks so that a decomposed "é" stays in its word. A single
 * character class repeated: the scan is linear and never backtracks.
 */
const WORD_PATTERN = /[\p{L}\p{N}\p{M}\p{Co}\p{So}]+/gu;
const MARKS = /\p{M}+/gu;
const ASCII = /^[\x00-\x7f]*$/;
/** Most query words highlighted, as the server matches at most this many. */
const MAX_TERMS = 16;

/**
 * A word as search compares it: without accents, in lower case.
 * @param {string} word
 * @returns {string}
 */
export function foldWord(word) {
  if (ASCII.test(word)) return word.toLowerCase();
  return word.normalize('NFD').replace(MARKS, '').toLowerCase();
}

/**
 * The words of a search query, folded, longest first, without repeats:
 * what a message's words are matched against, as prefixes. Quotes,
 * operators and punctuation are no words, as for the server.
 * @param {string} query
 * @returns {string[]}
 */
export function searchTerms(query) {
  const terms = new Set();
  for (const match of query.matchAll(WORD_PATTERN)) {
    const folded = foldWord(match[0]);
    if (folded) terms.add(folded);
    if (terms.size === MAX_TERMS) break;
  }
  return [...terms].sort((a, b) => b.length - a.length);
}

/**
 * Where the words of `text` that start with one of `terms` are, as
 * [start, end) ranges of the matching prefix, in order. Linear in the
 * length of the text (times the handful of terms).
 * @param {string} text
 * @param {string[]} terms folded, longest first (see `searchTerms`)
 * @param {number} [max] stop after this many
 * @returns {[number, number][]}
 */
export function matchRanges(text, terms, max = MAX_MARKED) {
  /** @type {[number, number][]} */
  const ranges = [];
  if (terms.length === 0) return ranges;
  for (const match of text.matchAll(WORD_PATTERN)) {
    const word = match[0];
    const folded = foldWord(word);
    const term = terms.find((t) => folded.startsWith(t));
    if (term === undefined) continue;
    const start = match.index ?? 0;
    ranges.push([start, start + prefixLength(word, folded, term.length)]);
    if (ranges.length === max) break;
  }
  return ranges;
}

/**
 * How many UTF-16 units of `word` fold to its first `folded` characters:
 * the part of the word to mark. Whole code points, and the marks that
 * follow them.
 * @param {string} word
 * @param {string} wordFolded
 * @param {number} wanted
 * @returns {number}
 */
function prefixLength(word, wordFolded, wanted) {
  if (wanted >= wordFolded.length) return word.length;
  if (wordFolded.length === word.length && ASCII.test(word)) return wanted;
  let folded = 0;
  let end = 0;
  for (const char of word) {
    if (folded >= wanted && !/\p{M}/u.test(char)) break;
    folded += foldWord(char).length;
    end += char.length;
  }
  return end;
}

/**
 * Appends `text` to `parent` with `ranges` wrapped in <mark> elements.
 * @param {HTMLElement} parent
 * @param {string} text
 * @param {[number, number][]} ranges in order, not overlapping
 */
function appendMarked(parent, text, ranges) {
  let last = 0;
  for (const [start, end] of ranges) {
    if (start > last) parent.append(text.slice(last, start));
    parent.append(el('mark', undefined, text.slice(start, end)));
    last = end;
  }
  if (last < text.length) parent.append(text.slice(last));
}

/** Longest excerpt of a message a search result shows. */
const SNIPPET_CHARS = 280;
/** How much text a result shows before the first match. */
const SNIPPET_LEAD = 60;

/**
 * A search result's text: the message, or for a long one an excerpt around
 * its first match, with the words that match the query marked.
 * @param {string} text
 * @param {string[]} terms see `searchTerms`
 * @returns {HTMLElement}
 */
export function highlightedSnippet(text, terms) {
  const container = el('span', 'result-text');
  let excerpt = text;
  let before = '';
  let after = '';
  if (text.length > SNIPPET_CHARS) {
    const first = matchRanges(text, terms, 1)[0];
    let start = first ? Math.max(0, first[0] - SNIPPET_LEAD) : 0;
    // Start at a word boundary when one is near, and never inside a surrogate pair.
    if (start > 0) {
      const space = text.slice(start, start + 20).search(/\s/);
      if (space !== -1) start += space + 1;
    }
    if (isLowSurrogate(text.charCodeAt(start))) start += 1;
    let end = Math.min(text.length, start + SNIPPET_CHARS);
    if (isLowSurrogate(text.charCodeAt(end))) end -= 1;
    excerpt = text.slice(start, end);
    before = start > 0 ? '…' : '';
    after = end < text.length ? '…' : '';
  }
  if (before) container.append(before);
  appendMarked(container, excerpt, matchRanges(excerpt, terms));
  if (after) container.append(after);
  return container;
}

/** @param {number} code */
function isLowSurrogate(code) {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * The time of a message, with its date unless it is from today.
 * @param {number} ts epoch ms
 * @returns {string}
 */
export function formatWhen(ts) {
  const date = new Date(ts);
  const now = new Date();
  if (date.toDateString() === now.toDateString()) return formatTime(ts);
  const day = date.toLocaleDateString([], {
    day: 'numeric',
    month: 'short',
    year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric',
  });
  return `${day}, ${formatTime(ts)}`;
}
