// @ts-check
/**
 * Extras that exist only inside the desktop app (where `window.__TAURI__`
 * is defined): the host panel, deleting anyone's message as the host,
 * native notifications and the window title. In a browser every function
 * here is a no-op, and the host panel stays hidden.
 * @module desktop
 */

import { setupClosing } from '../host/closing.js';
import { byId } from './dom.js';
import * as identity from '../room/identity.js';
import * as sharing from '../host/sharing.js';

/**
 * @typedef {object} RoomInfo
 * @property {string} url the room's address for browsers, e.g. http://127.0.0.1:7070
 * @property {string | null} note why the address is not the usual one, if it is not
 * @property {string | null} [data_dir] where the conversation is kept; null when the room is ephemeral
 */

/**
 * @typedef {object} ExportedTo
 * @property {string} path the file written
 * @property {number} count how many messages it holds
 */

/**
 * What the app says about the room (the `room_stats` command, the `room-stats` event).
 * @typedef {object} RoomStats
 * @property {number} connections open connections, joined or not
 * @property {number} people how many people have joined (this window among them once it has)
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

/** @returns {TauriGlobal | null} */
function tauri() {
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
 * Shows and wires the host panel.
 * @param {RoomInfo} info
 * @param {(message: string) => void} announce
 */
export async function setupHostPanel(info, announce) {
  const api = tauri();
  if (!api) return;
  const panel = byId('host-panel');
  const note = byId('host-note');
  const connected = byId('host-connected');
  showAddress(byId('host-address'), info.url);
  if (info.note) {
    note.textContent = info.note;
    note.hidden = false;
  }
  showStorage(info.data_dir ?? null);
  panel.hidden = false;

  byId('copy-address').addEventListener('click', async () => {
    const copied = await copyText(info.url);
    announce(copied ? 'Address copied' : 'Could not copy: select the address and copy it');
  });
  byId('open-browser').addEventListener('click', () => {
    api.opener?.openUrl(info.url).catch((error) => console.error('open in browser failed', error));
  });
  byId('open-logs').addEventListener('click', () => {
    api.core.invoke('open_logs_folder').catch((error) => console.error('open logs failed', error));
  });
  wireConversationActions(api);

  /** @param {RoomStats} stats */
  showHostCount = (stats) => {
    lastStats = stats;
    // Who counts: the people who joined, the host among them once this window has.
    const people = Number.isFinite(stats.people) ? Math.max(0, stats.people) : 0;
    const count = document.createElement('span');
    count.id = 'host-count';
    count.textContent = String(people);
    const included = identity.currentUser() !== null;
    if (people === 0) {
      connected.replaceChildren('Nobody has joined yet');
    } else {
      const noun = people === 1 ? ' person' : ' people';
      connected.replaceChildren(count, `${noun} in the room${included ? ', you included' : ''}`);
    }
  };
  showHostCount(await api.core.invoke('room_stats'));
  await api.event.listen('room-stats', (event) => {
    showHostCount(event.payload);
    sharing.peopleChanged();
  });
  await setupClosing(api, (message) => {
    byId('host-error').textContent = message;
  });
  await sharing.setupSharing(api, { copy: copyText, announce });
}

/** @type {RoomStats | null} */
let lastStats = null;
/** @type {(stats: RoomStats) => void} */
let showHostCount = () => {};

/** Says again who is in the room: the host has just joined (or rejoined, or lost the connection). */
export function refreshHostCount() {
  if (lastStats) showHostCount(lastStats);
}

/**
 * Someone joined, left or changed their name: the host panel's list of
 * people is fetched again (at most every 250 ms). A no-op in a browser.
 */
export function peopleChanged() {
  if (isDesktop()) sharing.peopleChanged();
}

/** Whether one of the host's confirmations (closing, a new link, removing someone) is open. */
export function dialogOpen() {
  return /** @type {HTMLDialogElement | null} */ (document.getElementById('close-dialog'))?.open === true || sharing.dialogOpen();
}

/**
 * Shows the room's address so that it never breaks inside the host or the
 * port: if it must wrap, it wraps after the scheme.
 * @param {HTMLElement} element
 * @param {string} url
 */
function showAddress(element, url) {
  const scheme = url.match(/^[a-z]+:\/\//)?.[0] ?? '';
  element.replaceChildren(scheme, document.createElement('wbr'), url.slice(scheme.length));
}

/**
 * Says where the conversation is kept, if anywhere.
 * @param {string | null} dir
 */
function showStorage(dir) {
  const storage = byId('host-storage');
  if (dir) {
    const path = document.createElement('code');
    path.className = 'address';
    path.textContent = dir;
    storage.replaceChildren('Conversation kept in ', path);
  } else {
    storage.replaceChildren('Not kept: this room is ephemeral');
  }
  byId('open-data-folder').hidden = !dir;
}

/**
 * The host's actions on the kept conversation: open its folder, export it,
 * clear it (after asking). What each did, or why it failed, shows in the panel.
 * @param {TauriGlobal} api
 */
function wireConversationActions(api) {
  const result = byId('host-result');
  const error = byId('host-error');
  const format = /** @type {HTMLSelectElement} */ (byId('export-format'));
  const exportButton = /** @type {HTMLButtonElement} */ (byId('export-conversation'));
  const clearButton = /** @type {HTMLButtonElement} */ (byId('clear-history'));
  const confirm = /** @type {HTMLDialogElement} */ (byId('clear-dialog'));

  /** @param {string} text */
  const done = (text) => {
    error.textContent = '';
    result.textContent = text;
  };
  /** @param {unknown} reason */
  const failed = (reason) => {
    result.textContent = '';
    error.textContent = typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : String(reason);
  };

  byId('open-data-folder').addEventListener('click', () => {
    api.core.invoke('open_data_folder').then(() => done(''), failed);
  });

  exportButton.addEventListener('click', async () => {
    const chosen = format.value === 'json' ? 'json' : 'markdown';
    exportButton.disabled = true;
    done('');
    try {
      const exported = /** @type {ExportedTo | null} */ (await api.core.invoke('export_conversation', { format: chosen }));
      if (exported) {
        done(`Exported ${exported.count} message${exported.count === 1 ? '' : 's'} to ${exported.path}`);
      }
    } catch (reason) {
      failed(reason);
    } finally {
      exportButton.disabled = false;
      exportButton.focus();
    }
  });

  clearButton.addEventListener('click', () => {
    confirm.returnValue = '';
    confirm.showModal();
    byId('clear-cancel').focus();
  });
  confirm.addEventListener('close', async () => {
    if (confirm.returnValue !== 'clear') {
      clearButton.focus();
      return;
    }
    clearButton.disabled = true;
    done('');
    try {
      await api.core.invoke('clear_history');
      done('History cleared for everyone');
    } catch (reason) {
      failed(reason);
    } finally {
      clearButton.disabled = false;
      clearButton.focus();
    }
  });
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
