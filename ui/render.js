// @ts-check
/**
 * Builds DOM for chat content. Everything a peer sent goes in through
 * `textContent` or attributes set on elements we create; nothing from a peer
 * is ever parsed as HTML.
 * @module render
 */

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
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

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
 * A round avatar with the name's initial.
 * @param {{id: number, name: string}} user
 * @returns {HTMLSpanElement}
 */
export function avatar(user) {
  const node = el('span', 'avatar', initial(user.name));
  node.style.background = colorFor(user.id);
  node.setAttribute('aria-hidden', 'true');
  return node;
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
