// @ts-check
/**
 * The host's tools in the desktop window: the host panel (panel.js), sharing
 * with the network and the people list (sharing.js), the rooms (rooms.js),
 * and what closing the window does (closing.js).
 * @module host
 */

export * as hostPanel from './panel.js';
