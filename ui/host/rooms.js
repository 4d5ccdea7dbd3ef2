// @ts-check
/**
 * The host panel's rooms: every room listed with Archive and Delete (after
 * asking), a field to make a new one, and whether everyone may make rooms.
 * Everything goes through the desktop app's commands: no frame a guest can
 * send makes, changes or deletes a room for the host.
 * @module rooms
 */

import { byId } from '../platform/dom.js';

/** @typedef {import('../platform/desktop.js').TauriGlobal} TauriGlobal */

/**
 * A room as the host sees it (the `rooms` command).
 * @typedef {object} HostRoom
 * @property {number} id
 * @property {string} name
 * @property {boolean} archived
 * @property {boolean} [default] General: it cannot be archived or deleted
 * @property {string} [topic]
 */

/**
 * The rooms section of one host panel.
 */
export class HostRooms {
  /** @param {TauriGlobal} api */
  constructor(api) {
    this.api = api;
    this.list = byId('host-rooms');
    this.error = byId('host-rooms-error');
    this.form = /** @type {HTMLFormElement} */ (byId('new-room-form'));
    this.name = /** @type {HTMLInputElement} */ (byId('new-room-name'));
    this.anyone = /** @type {HTMLInputElement} */ (byId('anyone-creates-rooms'));
    this.confirm = /** @type {HTMLDialogElement} */ (byId('delete-room-dialog'));
    /** @type {{id: number, button: HTMLButtonElement} | null} the room the open dialog asks about */
    this.deleting = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.refreshTimer = undefined;
  }

  /** Wires the controls and shows the rooms. */
  async mount() {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.create();
    });
    this.anyone.addEventListener('change', () => {
      this.invoke('set_anyone_creates_rooms', { anyone: this.anyone.checked });
    });
    this.confirm.addEventListener('close', () => this.confirmed());
    await this.refresh();
  }

  /** A room was made, changed or deleted somewhere: list them again (at most every 250 ms). */
  changed() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 250);
  }

  async refresh() {
    const answer = /** @type {{rooms?: HostRoom[], anyone_creates_rooms?: boolean} | undefined} */ (await this.invoke('rooms'));
    if (!Array.isArray(answer?.rooms)) return;
    this.anyone.checked = answer.anyone_creates_rooms === true;
    this.list.replaceChildren(...answer.rooms.map((room) => this.item(room)));
  }

  /**
   * One room's line.
   * @param {HostRoom} room
   */
  item(room) {
    const li = document.createElement('li');
    li.dataset.id = String(room.id);
    const name = document.createElement('span');
    name.className = 'host-room-name';
    name.textContent = room.name;
    li.append(name);
    if (room.archived) {
      const mark = document.createElement('span');
      mark.className = 'host-room-archived';
      mark.textContent = ' (archived)';
      li.append(mark);
    }
    if (room.default) return li;
    const archive = document.createElement('button');
    archive.type = 'button';
    archive.className = 'ghost';
    archive.textContent = room.archived ? 'Reopen' : 'Archive';
    archive.setAttribute('aria-label', `${archive.textContent} ${room.name}`);
    archive.addEventListener('click', async () => {
      archive.disabled = true;
      await this.invoke('change_room', { id: room.id, edit: { archived: !room.archived } });
      await this.refresh();
    });
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'danger';
    remove.textContent = 'Delete…';
    remove.setAttribute('aria-label', `Delete ${room.name}…`);
    remove.addEventListener('click', () => {
      this.deleting = { id: room.id, button: remove };
      byId('delete-room-title').textContent = `Delete ${room.name}?`;
      this.confirm.returnValue = '';
      this.confirm.showModal();
      byId('delete-room-cancel').focus();
    });
    li.append(' ', archive, ' ', remove);
    return li;
  }

  async create() {
    const name = this.name.value.trim();
    if (!name) return;
    const made = await this.invoke('create_room', { name, topic: null });
    if (made) {
      this.name.value = '';
      await this.refresh();
    }
    this.name.focus();
  }

  async confirmed() {
    const deleting = this.deleting;
    this.deleting = null;
    if (!deleting) return;
    if (this.confirm.returnValue !== 'delete') {
      deleting.button.focus();
      return;
    }
    await this.invoke('delete_room', { id: deleting.id });
    await this.refresh();
    this.name.focus();
  }

  /** Whether the delete confirmation is open. */
  dialogOpen() {
    return this.confirm.open;
  }

  /**
   * Runs a command; a refusal shows in the section.
   * @param {string} command
   * @param {Record<string, unknown>} [args]
   */
  async invoke(command, args) {
    try {
      const answer = await this.api.core.invoke(command, args);
      this.error.textContent = '';
      return answer ?? true;
    } catch (reason) {
      this.error.textContent = typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : String(reason);
      return undefined;
    }
  }
}
