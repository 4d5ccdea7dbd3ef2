// @ts-check
/**
 * The host panel of the desktop window: where the room is, who is in it,
 * sharing it with the network (sharing.js), what closing the window does
 * (closing.js), the rooms (rooms.js), and the kept conversation (its
 * folder, export, clearing).
 * Only the desktop app shows it; in a browser it stays hidden.
 * @module panel
 */

import { setupClosing } from './closing.js';
import { HostRooms } from './rooms.js';
import * as sharing from './sharing.js';
import { copyText, isDesktop, tauri } from '../platform/desktop.js';
import { byId } from '../platform/dom.js';
import * as identity from '../room/identity.js';

/** @typedef {import('../platform/desktop.js').RoomInfo} RoomInfo */
/** @typedef {import('../platform/desktop.js').TauriGlobal} TauriGlobal */

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
 * Shows and wires the host panel.
 * @param {RoomInfo} info
 * @param {(message: string) => void} announce
 */
export async function mount(info, announce) {
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
  hostRooms = new HostRooms(api);
  await hostRooms.mount();
}

/** @type {HostRooms | null} the rooms section, once mounted (desktop only) */
let hostRooms = null;

/** A room was made, changed or deleted: the host panel lists the rooms again. A no-op in a browser. */
export function roomsChanged() {
  hostRooms?.changed();
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
  return /** @type {HTMLDialogElement | null} */ (document.getElementById('close-dialog'))?.open === true || sharing.dialogOpen() || hostRooms?.dialogOpen() === true;
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
