// @ts-check
/**
 * Splits message text into its fenced code blocks and the plain parts
 * between them, in one scan that looks at each character a bounded number
 * of times (see format.js for why).
 * @module blocks
 */

/** Most code blocks in one message; the rest is shown as typed. */
const MAX_BLOCKS = 50;

/**
 * Cuts text into plain parts and fenced code blocks. A fence is a line that
 * starts with three or more backticks (and has no other backtick); the block
 * ends at a line of at least as many backticks alone, or at the end of the
 * text. The line breaks around a fence belong to it. One pass over the lines.
 * @param {string} text
 * @returns {{code: boolean, text: string}[]}
 */
export function splitBlocks(text) {
  /** @type {{code: boolean, text: string}[]} */
  const blocks = [];
  let plainStart = 0;
  let lineStart = 0;
  let codeBlocks = 0;
  while (lineStart <= text.length && codeBlocks < MAX_BLOCKS) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    const fence = newline === -1 ? 0 : fenceOpening(text, lineStart, lineEnd);
    if (fence > 0) {
      if (lineStart > plainStart) blocks.push({ code: false, text: text.slice(plainStart, lineStart - 1) });
      // Find the closing line, or run to the end.
      let bodyStart = newline === -1 ? text.length : newline + 1;
      let cursor = bodyStart;
      let bodyEnd = text.length;
      let next = text.length + 1;
      while (cursor <= text.length) {
        const nl = text.indexOf('\n', cursor);
        const end = nl === -1 ? text.length : nl;
        if (isFenceClosing(text, cursor, end, fence)) {
          bodyEnd = Math.max(bodyStart, cursor - 1);
          next = nl === -1 ? text.length + 1 : nl + 1;
          break;
        }
        if (nl === -1) break;
        cursor = nl + 1;
      }
      if (bodyStart > bodyEnd) bodyStart = bodyEnd;
      blocks.push({ code: true, text: text.slice(bodyStart, bodyEnd) });
      codeBlocks += 1;
      plainStart = next;
      lineStart = next;
      continue;
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }
  if (plainStart < text.length) blocks.push({ code: false, text: text.slice(plainStart) });
  return blocks;
}

/**
 * The number of backticks that open a fence on this line, or 0.
 * @param {string} text
 * @param {number} start
 * @param {number} end
 */
function fenceOpening(text, start, end) {
  let i = start;
  while (i < end && i - start < 3 && text[i] === ' ') i += 1;
  let run = 0;
  while (i + run < end && text[i + run] === '`') run += 1;
  if (run < 3) return 0;
  for (let j = i + run; j < end; j += 1) if (text[j] === '`') return 0;
  return run;
}

/**
 * Whether this line closes a fence of `run` backticks.
 * @param {string} text
 * @param {number} start
 * @param {number} end
 * @param {number} run
 */
function isFenceClosing(text, start, end, run) {
  let i = start;
  while (i < end && i - start < 3 && text[i] === ' ') i += 1;
  let count = 0;
  while (i < end && text[i] === '`') {
    count += 1;
    i += 1;
  }
  while (i < end && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i += 1;
  return count >= run && i === end;
}
