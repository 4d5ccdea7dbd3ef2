// @ts-check
/**
 * What the page asks of where it runs: the desktop app's bridge when it is
 * the window (desktop.js), the page's title, notifications and screen-reader
 * announcements (attention.js), and small DOM helpers (dom.js).
 * @module platform
 */

export * as attention from './attention.js';
export * as desktop from './desktop.js';
export { byId } from './dom.js';
