// @ts-check
/**
 * A WebSocket to the room that reconnects by itself, with exponential
 * backoff and jitter, and reports its state.
 * @module connection
 */

/** @typedef {'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'offline' | 'removed'} ConnectionState */

/**
 * @typedef {object} StateDetail
 * @property {ConnectionState} state
 * @property {number} [retryAt] epoch ms of the next attempt, when reconnecting
 * @property {number} [closeCode] the last close code, if any
 * @property {string} [closeReason] the reason the server gave with the last close, if any
 */

/** Why the server closes a socket that never joined: nothing to retry for. */
export const JOIN_TIMEOUT_REASON = 'did not join in time';

/** Why the server closes a socket whose person the host removed: their invite is gone too, so retrying is pointless. */
export const REMOVED_REASON = 'removed by the host';

/** Why the server closes a socket from the network when the host stops sharing. */
export const SHARING_STOPPED_REASON = 'the host stopped sharing the room';

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential with
 * "equal jitter", so a crowd of clients does not reconnect in lockstep.
 * @param {number} attempt
 * @returns {number}
 */
export function backoffDelay(attempt) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/**
 * Emits `state` (detail: StateDetail), `open`, `message` (detail: parsed
 * object) and `close` (detail: CloseEvent).
 */
export class RoomConnection extends EventTarget {
  /** @param {string} url */
  constructor(url) {
    super();
    this.url = url;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {StateDetail} */
    this.detail = { state: 'connecting' };
    /** Set when the server closed with 1001 (the host closed the room); cleared on reconnect. */
    this.hostClosed = false;
    /** The reason given with that 1001: the room closed, or sharing stopped. */
    this.hostClosedReason = '';
    window.addEventListener('online', () => this.retryNow());
    window.addEventListener('offline', () => this.setState({ state: 'offline' }));
  }

  /** @returns {ConnectionState} */
  get state() {
    return this.detail.state;
  }

  /** Opens the socket; called once, then it keeps itself open. */
  connect() {
    clearTimeout(this.timer);
    if (this.detail.state !== 'closed' && this.detail.state !== 'reconnecting') {
      this.setState({ state: 'connecting' });
    }
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      console.error('cannot open WebSocket', error);
      this.scheduleRetry(1006);
      return;
    }
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.hostClosed = false;
      this.setState({ state: 'connected' });
      this.dispatchEvent(new Event('open'));
    });
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.dispatchEvent(new CustomEvent('message', { detail: message }));
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.dispatchEvent(new CustomEvent('close', { detail: event }));
      // The server closes a socket nobody joined with after a while: rest
      // until someone does (see `ensureOpen`) instead of reconnecting.
      if (event.code === 1008 && event.reason === JOIN_TIMEOUT_REASON) this.setState({ state: 'idle' });
      else if (event.code === 1008 && event.reason === REMOVED_REASON) this.setState({ state: 'removed', closeCode: event.code });
      else this.scheduleRetry(event.code, event.reason);
    });
  }

  /**
   * @param {number} closeCode
   * @param {string} [closeReason]
   */
  scheduleRetry(closeCode, closeReason) {
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    const retryAt = Date.now() + delay;
    // 1001 from the server: the host closed the room. Keep saying so while
    // retrying quietly, until the room is back.
    if (closeCode === 1001) {
      this.hostClosed = true;
      this.hostClosedReason = closeReason ?? '';
    }
    const state = navigator.onLine === false ? 'offline' : this.hostClosed ? 'closed' : 'reconnecting';
    this.setState({ state, retryAt, closeCode, closeReason: this.hostClosed ? this.hostClosedReason : closeReason });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Opens the socket again if it is resting (`idle`); otherwise does nothing. */
  ensureOpen() {
    if (this.detail.state === 'idle') this.connect();
  }

  /** Skips the wait and tries again at once (e.g. when the network returns). */
  retryNow() {
    if (this.socket || this.detail.state === 'removed') return;
    this.attempt = 0;
    this.connect();
  }

  /**
   * Sends a protocol message; false if not connected.
   * @param {object} message
   * @returns {boolean}
   */
  send(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** @param {StateDetail} detail */
  setState(detail) {
    this.detail = detail;
    this.dispatchEvent(new CustomEvent('state', { detail }));
  }
}
