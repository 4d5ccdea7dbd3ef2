// @ts-check
/**
 * The DOM helpers every module uses: finding the page's elements, making
 * new ones, and where a scrolling log is. Text always goes in through
 * `textContent`.
 * @module dom
 */

/**
 * The element with `id`, which the page must have.
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return /** @type {T} */ (node);
}

/**
 * A new element, with a class and text if given.
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
 * Whether a scrolling element (a conversation's log) is scrolled to (nearly) its bottom.
 * @param {HTMLElement} log
 */
export function atBottom(log) {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 60;
}
