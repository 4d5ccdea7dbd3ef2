// @ts-check
/**
 * The bridge to the desktop app (where `window.__TAURI__` is defined): its
 * commands and events, deleting anyone's message as the host, opening
 * addresses with the system, the clipboard, native notifications and the
 * window title. In a browser every function here is a no-op (the host
 * panel, host/panel.js, stays hidden).
 * @module desktop
 */

/**
 * @typedef {object} RoomInfo
 * @property {string} url the room's address for browsers, e.g. http://127.0.0.1:7070
 * @property {string | null} note why the address is not the usual one, if it is not
 * @property {string | null} [data_dir] where the conversation is kept; null when the room is ephemeral
 */

/**
 * @typedef {object} TauriGlobal
 * @property {{invoke: (cmd: string, args?: object) => Promise<any>}} core
 * @property {{listen: (event: string, handler: (event: {payload: any}) => void) => Promise<() => void>}} event
 * @property {{getCurrentWindow: () => {setTitle: (title: string) => Promise<void>}}} [window]
 * @property {{openUrl: (url: string) => Promise<void>}} [opener]
 * @property {{isPermissionGranted: () => Promise<boolean>, requestPermission: () => Promise<string>,
 *   sendNotification: (options: {title: string, body?: string}) => void}} [notification]
 */

/** @returns {TauriGlobal | null} the app's API, or null in a browser */
export function tauri() {
  return /** @type {any} */ (window).__TAURI__ ?? null;
}

/** @returns {boolean} */
export function isDesktop() {
  return tauri() !== null;
}

/**
 * Asks the desktop shell where the room it hosts is listening.
 * @returns {Promise<RoomInfo | null>}
 */
export async function roomInfo() {
  const api = tauri();
  if (!api) return null;
  return /** @type {RoomInfo} */ (await api.core.invoke('room_info'));
}

/**
 * Opens an address with the system (a file people sent: the browser then
 * downloads or shows it), so the window itself never navigates away from
 * the room. False in a browser, where the link does it.
 * @param {string} url
 * @returns {boolean}
 */
export function openExternal(url) {
  const opener = tauri()?.opener;
  if (!opener) return false;
  opener.openUrl(url).catch((error) => console.error('open failed', error));
  return true;
}

/**
 * Deletes any message, as the host (only the desktop window may): the
 * room tells everyone with `deleted`. Rejects with the app's reason.
 * @param {number} id
 * @returns {Promise<void>}
 */
export async function deleteMessage(id) {
  const api = tauri();
  if (!api) throw new Error('only the desktop window can delete as the host');
  await api.core.invoke('delete_message', { id });
}

/**
 * Copies text, with a fallback for webviews without the async clipboard
 * (and pages that are not a secure context, which have none). The focus
 * stays where it was.
 * @param {string} text
 * @returns {Promise<boolean>} whether it was copied
 */
export async function copyText(text) {
  if (window.isSecureContext && navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Fall through to the selection-based copy.
    }
  }
  const focused = document.activeElement;
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.tabIndex = -1;
  area.className = 'copy-buffer';
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  if (focused instanceof HTMLElement) focused.focus();
  return copied;
}

/**
 * Shows a native notification; returns false when not in the desktop app.
 * The body is peer text: many Linux notification daemons render markup in
 * it (`<b>`, `<a href>`, `<img>`), so it goes out escaped.
 * @param {string} title
 * @param {string} body
 * @returns {Promise<boolean>}
 */
export async function notify(title, body) {
  const api = tauri();
  if (!api?.notification) return false;
  let granted = await api.notification.isPermissionGranted();
  if (!granted) granted = (await api.notification.requestPermission()) === 'granted';
  if (granted) api.notification.sendNotification({ title, body: escapeMarkup(body) });
  return true;
}

/**
 * Escapes the characters notification markup gives meaning to, so the text
 * shows as typed.
 * @param {string} text
 * @returns {string}
 */
function escapeMarkup(text) {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/**
 * Sets the native window title (the document title does not reach it).
 * @param {string} title
 */
export function setWindowTitle(title) {
  tauri()
    ?.window?.getCurrentWindow()
    .setTitle(title)
    .catch((error) => console.error('setTitle failed', error));
}
