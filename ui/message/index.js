// @ts-check
/**
 * One message on screen: how it is drawn (view.js, render.js), its text
 * (format.js, blocks.js), its files and the picture viewer (files.js), its
 * reactions and their palette (reactions.js), and what one can do with it:
 * reply, react, edit, delete, move between messages (actions.js).
 * @module message
 */

export * as messageActions from './actions.js';
export * as files from './files.js';
export * as reactions from './reactions.js';
export { fillQuote, summary } from './view.js';
