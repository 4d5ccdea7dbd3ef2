// @ts-check
/**
 * Getting the person's attention: the unread count in the title while the
 * page is in the background, desktop notifications, and the live region
 * that screen readers read out.
 * @module attention
 */

import * as desktop from './desktop.js';
import { byId, el } from './dom.js';

const APP_TITLE = 'Hearth';

/** Messages that came while the page was in the background. */
let unread = 0;

/**
 * Whether the page may use browser notifications: they need a secure
 * context, which a room opened from another machine over plain http is not.
 * @returns {boolean}
 */
function notificationsAvailable() {
  return window.isSecureContext && 'Notification' in window;
}

/** Clears the count when the page is looked at again; wires the notifications button. */
export function mount() {
  const notifyButton = /** @type {HTMLButtonElement} */ (byId('notify-button'));
  const seen = () => {
    if (document.hidden || !document.hasFocus()) return;
    unread = 0;
    setTitle(APP_TITLE);
  };
  document.addEventListener('visibilitychange', seen);
  window.addEventListener('focus', seen);
  notifyButton.addEventListener('click', async () => {
    if (!notificationsAvailable()) {
      notifyButton.hidden = true;
      return;
    }
    try {
      await Notification.requestPermission();
    } catch (error) {
      console.warn('notification permission', error);
    }
    notifyButton.hidden = Notification.permission === 'default';
  });
}

/** Offers to enable browser notifications (not in the desktop window, which has its own). */
export function offerNotifications() {
  if (notificationsAvailable() && Notification.permission === 'default') byId('notify-button').hidden = false;
}

/**
 * A message from someone else arrived: counted and notified while the page is not looked at.
 * @param {string} from who sent it
 * @param {string} text what it says, on one line
 */
export function drawAttention(from, text) {
  if (!document.hidden && document.hasFocus()) return;
  unread += 1;
  setTitle(`(${unread}) ${APP_TITLE}`);
  const body = text.length > 140 ? `${text.slice(0, 140)}…` : text;
  desktop
    .notify(from, body)
    .then((handled) => {
      if (!handled && notificationsAvailable() && Notification.permission === 'granted') {
        new Notification(from, { body, tag: 'hearth' });
      }
    })
    .catch((error) => console.error('notification failed', error));
}

/** @param {string} title */
function setTitle(title) {
  document.title = title;
  desktop.setWindowTitle(title);
}

/**
 * Says `text` to screen readers.
 * @param {string} text
 */
export function announce(text) {
  const announcer = byId('announcer');
  const line = el('p', undefined, text);
  announcer.append(line);
  // Keep the live region small; screen readers have already read old lines.
  while (announcer.childElementCount > 5) announcer.firstElementChild?.remove();
}
