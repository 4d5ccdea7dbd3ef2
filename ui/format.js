// @ts-check
/**
 * Turns message text into DOM nodes: plain text, with http(s) URLs as safe
 * links and @mentions highlighted. Everything a peer sent goes in as text
 * nodes or attributes of elements made here; nothing is parsed as HTML.
 * @module format
 */

import { el } from './dom.js';

/**
 * An http(s) URL of at most 2,048 characters: no real address is longer, and
 * the bound keeps every match cheap. A longer run is linked only up to there.
 */
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]{1,2040}/gi;
/**
 * Most links, and most highlighted mentions, in one message: past that the
 * rest stays plain text, so one message cannot make thousands of elements.
 */
const MAX_MARKED = 50;
/** Punctuation that ends a sentence rather than the URL before it. */
const TRAILING_PUNCTUATION = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}']);

/**
 * Escapes a string for use inside a RegExp.
 * @param {string} text
 * @returns {string}
 */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Whether `text` mentions `name` as `@name` (case-insensitive).
 * @param {string} text
 * @param {string | null} name
 * @returns {boolean}
 */
export function mentions(text, name) {
  if (!name) return false;
  return new RegExp(`(^|[^\\w@])@${escapeRegExp(name)}(?![\\w])`, 'iu').test(text);
}

/**
 * Appends `text` to `parent`, turning @mentions into highlighted spans.
 * @param {HTMLElement} parent
 * @param {string} text
 * @param {string | null} myName
 */
function appendWithMentions(parent, text, myName) {
  const pattern = /@[\p{L}\p{N}_.-]+/gu;
  let last = 0;
  let marked = 0;
  for (const match of text.matchAll(pattern)) {
    if (marked === MAX_MARKED) break;
    marked += 1;
    const index = match.index ?? 0;
    parent.append(text.slice(last, index));
    const token = match[0];
    const isMe = myName !== null && token.slice(1).toLocaleLowerCase() === myName.toLocaleLowerCase();
    parent.append(el('span', isMe ? 'mention me' : 'mention', token));
    last = index + token.length;
  }
  parent.append(text.slice(last));
}

/**
 * Renders message text: plain text, with http(s) URLs as safe links and
 * @mentions highlighted.
 * @param {string} text
 * @param {string | null} myName
 * @returns {HTMLElement}
 */
export function messageText(text, myName) {
  const container = el('div', 'text');
  let last = 0;
  let links = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    if (links === MAX_MARKED) break;
    links += 1;
    const index = match.index ?? 0;
    const raw = withoutTrailingPunctuation(match[0]);
    appendWithMentions(container, text.slice(last, index), myName);
    container.append(link(raw));
    last = index + raw.length;
  }
  appendWithMentions(container, text.slice(last), myName);
  return container;
}

/**
 * Drops the punctuation that ends a sentence after a URL. A plain loop from
 * the end, linear in the URL's length: a regex anchored at `$` retries from
 * every position and takes quadratic time on a long run of dots.
 * @param {string} url
 * @returns {string}
 */
function withoutTrailingPunctuation(url) {
  let end = url.length;
  while (end > 0 && TRAILING_PUNCTUATION.has(url[end - 1])) end -= 1;
  return url.slice(0, end);
}

/**
 * A link for an http(s) URL, or plain text if it does not parse as one.
 * @param {string} raw
 * @returns {Node}
 */
function link(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return document.createTextNode(raw);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return document.createTextNode(raw);
  }
  const anchor = el('a', undefined, raw);
  anchor.href = url.href;
  anchor.target = '_blank';
  anchor.rel = 'noopener noreferrer';
  return anchor;
}
