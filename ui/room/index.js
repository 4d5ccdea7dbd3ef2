// @ts-check
/**
 * The page's link to the room: the WebSocket that reconnects by itself
 * (connection.js), the requests sent and not yet answered (session.js), and
 * who I am there: my name, my secret key, my user (identity.js).
 * @module room
 */

export { JOIN_TIMEOUT_REASON, RoomConnection, SHARING_STOPPED_REASON } from './connection.js';
export * as identity from './identity.js';
export * as session from './session.js';
