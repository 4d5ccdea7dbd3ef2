// @ts-check
/**
 * Searching the conversation: the panel, its results, and choosing one.
 * @module search
 */

export { SEARCH_LIMIT, SearchPanel } from './search.js';
