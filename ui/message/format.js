// @ts-check
/**
 * Turns message text into DOM nodes: fenced code blocks, `code`, **bold**,
 * _italic_, http(s) links and @mentions. Everything a peer sent goes in as
 * text nodes or attributes of elements made here; nothing is ever parsed
 * as HTML.
 *
 * Every step is a hand-rolled scan that looks at each character a bounded
 * number of times, whatever the input: regexes that backtrack can take
 * quadratic time on crafted text (WebKit, the desktop window's engine,
 * took 265 ms on one Chromium ran in 0.1 ms). The only regexes are the
 * link pattern (a bounded character class), the mention pattern (one
 * character class repeated) and the emoji test (only on short texts).
 * @module format
 */

import { el } from '../platform/dom.js';
import { splitBlocks } from './blocks.js';

/**
 * An http(s) URL of at most 2,048 characters: no real address is longer, and
 * the bound keeps every match cheap. A longer run is linked only up to there.
 */
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]{1,2040}/gi;
const MENTION_PATTERN = /@[\p{L}\p{N}_.-]+/gu;
/**
 * Most links, most highlighted mentions and most bold or italic spans in one
 * message: past that the rest stays plain text, so one message cannot make
 * thousands of elements.
 */
const MAX_MARKED = 50;
const MAX_STYLED = 200;
/** Deepest nesting of bold and italic; deeper markers stay as typed. */
const MAX_DEPTH = 8;
/** Punctuation that ends a sentence (or a bold or italic span) rather than the URL before it. */
const TRAILING_PUNCTUATION = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}', '*', '_']);

/**
 * @typedef {object} Budget what one message may still mark
 * @property {number} links
 * @property {number} mentions
 * @property {number} styled
 */

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
 * Renders message text into a `div.text`: code blocks, inline code, bold,
 * italic, links and mentions. A message that is only an emoji or two gets
 * the class `jumbo`.
 * @param {string} text
 * @param {string | null} myName
 * @returns {HTMLElement}
 */
export function messageText(text, myName) {
  const container = el('div', 'text');
  /** @type {Budget} */
  const budget = { links: MAX_MARKED, mentions: MAX_MARKED, styled: MAX_STYLED };
  for (const block of splitBlocks(text)) {
    if (block.code) {
      const pre = el('pre', 'code-block');
      // Keyboard users can focus it to scroll a long line sideways.
      pre.tabIndex = 0;
      pre.append(el('code', undefined, block.text));
      container.append(pre);
    } else if (block.text) {
      container.append(...inline(block.text, myName, budget));
    }
  }
  if (isJumboEmoji(text)) container.classList.add('jumbo');
  return container;
}

// ---------------------------------------------------------------- code blocks

// ---------------------------------------------------------------- inline

/**
 * A piece of inline content: text whose mentions are not marked yet, or a
 * node made already.
 * @typedef {string | Node} Piece
 */
/**
 * An open bold or italic span, collecting what comes until it closes.
 * @typedef {{marker: '**' | '_', pieces: Piece[]}} Frame
 */
/** @typedef {{budget: Budget, myName: string | null}} Context */

/**
 * Inline formatting of one plain part: code spans first (their content is
 * literal), then links, then bold and italic markers around the rest.
 * @param {string} text
 * @param {string | null} myName
 * @param {Budget} budget
 * @returns {(Node | string)[]}
 */
function inline(text, myName, budget) {
  /** @type {Context} */
  const context = { budget, myName };
  /** @type {Frame[]} */
  const stack = [{ marker: '**', pieces: [] }];
  for (const part of codeSpans(text, budget)) {
    if (part.code) {
      stack[stack.length - 1].pieces.push(el('code', 'inline-code', part.text));
      continue;
    }
    let last = part.start;
    for (const match of part.text.matchAll(URL_PATTERN)) {
      if (budget.links === 0) break;
      const index = part.start + (match.index ?? 0);
      const raw = withoutTrailingPunctuation(match[0]);
      const anchor = link(raw);
      if (!anchor) continue;
      budget.links -= 1;
      markers(text, last, index, stack, context);
      stack[stack.length - 1].pieces.push(anchor);
      last = index + raw.length;
    }
    markers(text, last, part.end, stack, context);
  }
  // Whatever is still open was never closed: its marker is plain text.
  while (stack.length > 1) collapse(stack);
  return withMentionsAll(stack[0].pieces, context);
}

/**
 * Scans `text[start, end)` for `**` and `_` markers, opening and closing
 * spans on `stack`; everything else is text of the innermost open span.
 * `**` opens before a non-space and closes after one; `_` likewise, and
 * only at a word's edge, so snake_case stays as typed. Runs of three or
 * more asterisks, and of two or more underscores, are plain text. Each
 * character is looked at once (a run's length is counted as it is passed).
 * @param {string} text the whole plain part, so markers next to a code span or link see it
 * @param {number} start
 * @param {number} end
 * @param {Frame[]} stack
 * @param {Context} context
 */
function markers(text, start, end, stack, context) {
  let plain = start;
  let i = start;
  while (i < end) {
    const c = text[i];
    if (c !== '*' && c !== '_') {
      i += 1;
      continue;
    }
    let run = 1;
    while (i + run < end && text[i + run] === c) run += 1;
    const marker = c === '*' ? (run === 2 ? '**' : null) : run === 1 ? '_' : null;
    if (!marker) {
      i += run;
      continue;
    }
    // What came before the marker belongs to the innermost open span.
    if (i > plain) {
      stack[stack.length - 1].pieces.push(text.slice(plain, i));
      plain = i;
    }
    const before = i > 0 ? text[i - 1] : ' ';
    const after = i + run < text.length ? text[i + run] : ' ';
    let canOpen = !isSpace(after);
    let canClose = !isSpace(before);
    if (marker === '_') {
      canOpen = canOpen && !isWordChar(before);
      canClose = canClose && !isWordChar(after);
    }
    const open = canClose ? openFrame(stack, marker) : -1;
    if (open !== -1) {
      while (stack.length - 1 > open) collapse(stack);
      const frame = /** @type {Frame} */ (stack.pop());
      const node = el(marker === '**' ? 'strong' : 'em');
      node.append(...withMentionsAll(frame.pieces, context));
      stack[stack.length - 1].pieces.push(node);
      plain = i + run;
    } else if (canOpen && stack.length <= MAX_DEPTH && context.budget.styled > 0) {
      context.budget.styled -= 1;
      stack.push({ marker, pieces: [] });
      plain = i + run;
    }
    i += run;
  }
  if (end > plain) stack[stack.length - 1].pieces.push(text.slice(plain, end));
}

/**
 * Where on the stack the innermost open span of `marker` is, if it has
 * something in it, or -1. The stack is at most MAX_DEPTH deep.
 * @param {Frame[]} stack
 * @param {'**' | '_'} marker
 */
function openFrame(stack, marker) {
  for (let i = stack.length - 1; i >= 1; i -= 1) {
    if (stack[i].marker === marker) return stack[i].pieces.length > 0 ? i : -1;
  }
  return -1;
}

/**
 * Closes the innermost open span as plain text: its marker and content go
 * to the span around it. A piece moves at most MAX_DEPTH times.
 * @param {Frame[]} stack
 */
function collapse(stack) {
  const frame = /** @type {Frame} */ (stack.pop());
  const parent = stack[stack.length - 1].pieces;
  parent.push(frame.marker);
  for (const piece of frame.pieces) parent.push(piece);
}

/**
 * The pieces of a closed span (or of the whole part) as nodes: adjacent
 * texts joined, then their mentions marked.
 * @param {Piece[]} pieces
 * @param {Context} context
 * @returns {(Node | string)[]}
 */
function withMentionsAll(pieces, context) {
  /** @type {(Node | string)[]} */
  const nodes = [];
  let text = '';
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      text += piece;
      continue;
    }
    if (text) nodes.push(...withMentions(text, context));
    text = '';
    nodes.push(piece);
  }
  if (text) nodes.push(...withMentions(text, context));
  return nodes;
}

/**
 * Text with its @mentions as highlighted spans (mine stand out more).
 * @param {string} text
 * @param {Context} context
 * @returns {(Node | string)[]}
 */
function withMentions(text, context) {
  const { budget, myName } = context;
  /** @type {(Node | string)[]} */
  const nodes = [];
  let last = 0;
  if (text.includes('@')) {
    for (const match of text.matchAll(MENTION_PATTERN)) {
      if (budget.mentions === 0) break;
      budget.mentions -= 1;
      const index = match.index ?? 0;
      if (index > last) nodes.push(text.slice(last, index));
      const token = match[0];
      const isMe = myName !== null && token.slice(1).toLocaleLowerCase() === myName.toLocaleLowerCase();
      nodes.push(el('span', isMe ? 'mention me' : 'mention', token));
      last = index + token.length;
    }
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

/**
 * Cuts text into code spans and the rest, with where each part starts and
 * ends. A run of backticks opens a span that the next run of the same
 * length closes; a run with no match is plain text. Runs are found in one
 * pass and matched with a cursor per length that only moves forward.
 * @param {string} text
 * @param {Budget} [budget] each span takes one of `styled`; with none left the rest is plain
 * @returns {{code: boolean, text: string, start: number, end: number}[]}
 */
export function codeSpans(text, budget = { links: 0, mentions: 0, styled: MAX_STYLED }) {
  if (!text.includes('`')) return [{ code: false, text, start: 0, end: text.length }];
  /** @type {{start: number, length: number}[]} */
  const runs = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] !== '`') {
      i += 1;
      continue;
    }
    let length = 1;
    while (text[i + length] === '`') length += 1;
    runs.push({ start: i, length });
    i += length;
  }
  /** @type {Map<number, number[]>} run indices by length */
  const byLength = new Map();
  runs.forEach((run, index) => {
    const list = byLength.get(run.length);
    if (list) list.push(index);
    else byLength.set(run.length, [index]);
  });
  /** @type {Map<number, number>} */
  const cursor = new Map();
  /** @type {{code: boolean, text: string, start: number, end: number}[]} */
  const parts = [];
  let plain = 0;
  for (let r = 0; r < runs.length && budget.styled > 0; r += 1) {
    const run = runs[r];
    const list = /** @type {number[]} */ (byLength.get(run.length));
    let c = cursor.get(run.length) ?? 0;
    while (c < list.length && list[c] <= r) c += 1;
    cursor.set(run.length, c);
    if (c === list.length) continue;
    const close = runs[list[c]];
    let content = text.slice(run.start + run.length, close.start);
    if (content.length > 2 && content.startsWith(' ') && content.endsWith(' ') && content.trim()) content = content.slice(1, -1);
    if (run.start > plain) parts.push({ code: false, text: text.slice(plain, run.start), start: plain, end: run.start });
    parts.push({ code: true, text: content, start: run.start, end: close.start + close.length });
    budget.styled -= 1;
    plain = close.start + close.length;
    r = list[c];
  }
  if (plain < text.length) parts.push({ code: false, text: text.slice(plain), start: plain, end: text.length });
  return parts;
}

/** @param {string} c */
function isSpace(c) {
  return c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\u00a0';
}

/**
 * A letter or digit (of any script): an underscore next to one is inside a word.
 * @param {string} c
 */
function isWordChar(c) {
  const code = c.charCodeAt(0);
  if (code < 0x80) return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
  return /[\p{L}\p{N}]/u.test(c);
}

// ---------------------------------------------------------------- links

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
 * A link for an http(s) URL, or null if it does not parse as one.
 * @param {string} raw
 * @returns {HTMLAnchorElement | null}
 */
function link(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const anchor = el('a', undefined, raw);
  anchor.href = url.href;
  anchor.target = '_blank';
  anchor.rel = 'noopener noreferrer';
  return anchor;
}

// ---------------------------------------------------------------- emoji

const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|\p{Emoji_Component}|\u200d|\ufe0f)+$/u;
const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;

/**
 * Whether the text is only one or two emoji (spaces aside), which then show larger.
 * @param {string} text
 */
export function isJumboEmoji(text) {
  if (text.length > 40) return false;
  const squeezed = text.replace(/\s+/g, '');
  if (!squeezed || !EMOJI_ONLY.test(squeezed) || !PICTOGRAPH.test(squeezed)) return false;
  if (typeof Intl === 'undefined' || !('Segmenter' in Intl)) return Array.from(squeezed).length <= 2;
  let count = 0;
  for (const segment of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(squeezed)) {
    if (!PICTOGRAPH.test(segment.segment)) return false;
    count += 1;
    if (count > 2) return false;
  }
  return count > 0;
}

/**
 * What message text says, without its formatting markers (`**`, `_`,
 * backticks, fences): for quotes and the composer's reply bar, which show
 * it on one line.
 * @param {string} text
 * @returns {string}
 */
export function plainText(text) {
  /** @type {Budget} */
  const budget = { links: MAX_MARKED, mentions: 0, styled: MAX_STYLED };
  return splitBlocks(text)
    .map((block) => {
      if (block.code) return block.text;
      const holder = el('span');
      holder.append(...inline(block.text, null, budget));
      return holder.textContent ?? '';
    })
    .join('\n');
}

/**
 * Message text on one line, for quotes and notifications: line breaks and
 * runs of spaces become one space.
 * @param {string} text
 * @param {number} [max] characters kept, `…` added when cut
 */
export function oneLine(text, max = 100) {
  let out = '';
  let space = false;
  let count = 0;
  for (const char of text) {
    if (char === '\n' || char === '\r' || char === '\t' || char === ' ') {
      space = out.length > 0;
      continue;
    }
    if (space) {
      out += ' ';
      count += 1;
      space = false;
    }
    if (count >= max) return `${out}…`;
    out += char;
    count += 1;
  }
  return out;
}
