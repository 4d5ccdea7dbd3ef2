// @ts-check
/**
 * Writing a message: the box, what it replies to, its limits and errors
 * (composer.js), and the files sent with it (uploads.js).
 * @module composer
 */

export * as composer from './composer.js';
