// @ts-check
/**
 * The host panel's "Share with your network" section and its list of the
 * people in the room (desktop window only). Sharing lets other machines on
 * the local network join with an invite link (or its QR code); the host
 * can make a new link, stop sharing, and remove people who came from the
 * network. The desktop shell does the work; this asks it and shows what it
 * says. Everything it shows goes in as text.
 * @module sharing
 */

import { byId, el } from '../platform/dom.js';
import * as identity from '../room/identity.js';

/**
 * What the desktop shell says about sharing.
 * @typedef {object} ShareStatus
 * @property {boolean} on whether people on the network can join
 * @property {string[]} addresses where the room listens on the network, e.g. http://198.18.0.1:7070
 * @property {string | null} link the invite link
 * @property {string | null} qr_svg the invite link's QR code, as an SVG document
 * @property {string | null} error why sharing could not start, if it could not
 */

/**
 * Someone in the room, as the desktop shell lists them.
 * @typedef {object} Person
 * @property {number} id
 * @property {string} name
 * @property {string | null} address their network address; null when on this computer
 */

/**
 * @typedef {{core: {invoke: (cmd: string, args?: object) => Promise<any>},
 *   event: {listen: (event: string, handler: (event: {payload: any}) => void) => Promise<() => void>}}} Api
 */

/** The people list is asked for at most this often. */
const PEOPLE_REFRESH_GAP_MS = 250;

/** @type {() => void} */
let scheduleRefresh = () => {};

/**
 * The people in the room changed (someone joined, left or was renamed):
 * the host panel's list is fetched again, at most every 250 ms.
 */
export function peopleChanged() {
  scheduleRefresh();
}

/** Whether one of this module's confirmations is open. */
export function dialogOpen() {
  return ['new-link-dialog', 'remove-dialog'].some((id) => /** @type {HTMLDialogElement | null} */ (document.getElementById(id))?.open === true);
}

/**
 * The reason a command failed, as text (Tauri rejects with a string).
 * @param {unknown} reason
 * @returns {string}
 */
function reasonOf(reason) {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  return String(reason);
}

/**
 * Whether `value` looks like a ShareStatus.
 * @param {unknown} value
 * @returns {value is ShareStatus}
 */
function isStatus(value) {
  return typeof value === 'object' && value !== null && typeof (/** @type {any} */ (value).on) === 'boolean';
}

/**
 * Shows an address so that it wraps after the scheme, if it must wrap.
 * @param {HTMLElement} element
 * @param {string} url
 */
function showUrl(element, url) {
  const scheme = url.match(/^[a-z]+:\/\//)?.[0] ?? '';
  element.replaceChildren(scheme, document.createElement('wbr'), url.slice(scheme.length));
}

/**
 * Wires the sharing section and the people list.
 * @param {Api} api
 * @param {{copy: (text: string) => Promise<boolean>, announce: (message: string) => void}} helpers
 */
export async function setupSharing(api, helpers) {
  await Promise.all([setupShare(api, helpers), setupPeople(api, helpers)]);
}

/**
 * @param {Api} api
 * @param {{copy: (text: string) => Promise<boolean>, announce: (message: string) => void}} helpers
 */
async function setupShare(api, { copy, announce }) {
  const section = byId('share-section');
  const toggle = /** @type {HTMLInputElement} */ (byId('share-toggle'));
  const error = byId('share-error');
  const details = byId('share-on');
  const addressesLabel = byId('share-addresses-label');
  const addresses = byId('share-addresses');
  const link = byId('share-link');
  const qr = /** @type {HTMLImageElement} */ (byId('share-qr'));
  const copyButton = /** @type {HTMLButtonElement} */ (byId('share-copy'));
  const newButton = /** @type {HTMLButtonElement} */ (byId('share-new'));
  const stopButton = /** @type {HTMLButtonElement} */ (byId('share-stop'));
  const dialog = /** @type {HTMLDialogElement} */ (byId('new-link-dialog'));

  /** @type {ShareStatus} */
  let current = { on: false, addresses: [], link: null, qr_svg: null, error: null };
  let busy = false;
  /** The QR code's SVG as shown, so an unchanged one is not loaded again. */
  let shownQr = '';

  /** @param {ShareStatus} status */
  const render = (status) => {
    current = status;
    toggle.checked = status.on;
    error.textContent = status.error ? `Could not start sharing: ${status.error}` : '';
    details.hidden = !status.on;
    if (!status.on) return;
    addressesLabel.textContent = status.addresses.length === 1 ? 'Address on the network' : 'Addresses on the network';
    addresses.replaceChildren(
      ...status.addresses.map((address) => {
        const code = el('code', 'address');
        showUrl(code, address);
        const item = el('li');
        item.append(code);
        return item;
      }),
    );
    addressesLabel.hidden = status.addresses.length === 0;
    if (status.link) showUrl(link, status.link);
    else link.replaceChildren();
    byId('share-link-row').hidden = !status.link;
    copyButton.hidden = !status.link;
    if (status.qr_svg) {
      if (status.qr_svg !== shownQr) qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(status.qr_svg)}`;
      shownQr = status.qr_svg;
      qr.hidden = false;
    } else {
      shownQr = '';
      qr.removeAttribute('src');
      qr.hidden = true;
    }
  };

  /** @param {boolean} waiting */
  const setBusy = (waiting) => {
    busy = waiting;
    toggle.disabled = waiting;
    newButton.disabled = waiting;
    stopButton.disabled = waiting;
    section.setAttribute('aria-busy', String(waiting));
  };

  /**
   * Runs a command that answers with the new status, showing it; on
   * failure says why and shows the last status known (the switch goes
   * back).
   * @param {string} cmd
   * @param {object} args
   * @param {string} failure what could not be done, before the reason
   * @param {HTMLElement} focusAfter where the focus goes once done
   * @returns {Promise<boolean>} whether it was done
   */
  const change = async (cmd, args, failure, focusAfter) => {
    if (busy) return false;
    setBusy(true);
    try {
      const status = await api.core.invoke(cmd, args);
      // Without a status in the answer, the last one known still holds.
      render(isStatus(status) ? status : current);
      return true;
    } catch (reason) {
      render(current);
      error.textContent = `${failure}: ${reasonOf(reason)}`;
      return false;
    } finally {
      setBusy(false);
      // The focus comes back where it was, or to the switch when that is gone,
      // unless the host has moved on meanwhile.
      const now = document.activeElement;
      if (now === null || now === document.body || section.contains(now)) {
        (focusAfter.closest('[hidden]') ? toggle : focusAfter).focus();
      }
      scheduleRefresh();
    }
  };

  toggle.addEventListener('change', () => {
    const on = toggle.checked;
    // The switch shows what is, not what was asked, until the answer comes.
    toggle.checked = current.on;
    change('set_sharing', { on }, on ? 'Could not start sharing' : 'Could not stop sharing', toggle);
  });
  stopButton.addEventListener('click', () => {
    change('set_sharing', { on: false }, 'Could not stop sharing', toggle);
  });
  copyButton.addEventListener('click', async () => {
    if (!current.link) return;
    const copied = await copy(current.link);
    announce(copied ? 'Copied the invite link' : 'Could not copy: select the link and copy it');
  });
  newButton.addEventListener('click', () => {
    dialog.returnValue = '';
    dialog.showModal();
    byId('new-link-cancel').focus();
  });
  dialog.addEventListener('close', async () => {
    const choice = dialog.returnValue;
    dialog.returnValue = '';
    if (choice !== 'new' && choice !== 'remove') {
      newButton.focus();
      return;
    }
    const removeEveryone = choice === 'remove';
    const made = await change('new_invite_link', { removeEveryone }, 'Could not make a new link', newButton);
    if (made) announce(removeEveryone ? 'New invite link made; everyone from the network was removed' : 'New invite link made');
  });

  await api.event.listen('share-changed', (event) => {
    if (isStatus(event.payload)) render(event.payload);
    scheduleRefresh();
  });
  try {
    const status = await api.core.invoke('share_status');
    if (!isStatus(status)) throw new Error(`unexpected share status: ${JSON.stringify(status)}`);
    render(status);
    section.hidden = false;
  } catch (reason) {
    // An app without sharing: the section stays hidden.
    console.warn('sharing unavailable', reason);
  }
}

/**
 * @param {Api} api
 * @param {{announce: (message: string) => void}} helpers
 */
async function setupPeople(api, { announce }) {
  const section = byId('host-people-section');
  const heading = byId('host-people-heading');
  const list = byId('host-people');
  const error = byId('host-people-error');
  const dialog = /** @type {HTMLDialogElement} */ (byId('remove-dialog'));
  const dialogText = byId('remove-text');
  const confirm = byId('remove-confirm');

  /** @type {Person | null} who the open confirmation is about */
  let asked = null;

  /** @param {Person[]} people */
  const render = (people) => {
    const focusedId = /** @type {HTMLElement | null} */ (document.activeElement)?.closest?.('#host-people button')?.getAttribute('data-id');
    if (people.length === 0) {
      list.replaceChildren(el('li', 'host-people-empty', 'Nobody has joined yet'));
    } else {
      list.replaceChildren(...people.map(row));
    }
    if (focusedId) {
      // The same person's button keeps the focus; if they are gone, the list's heading takes it.
      const again = /** @type {HTMLElement | null} */ (list.querySelector(`button[data-id="${CSS.escape(focusedId)}"]`));
      (again ?? heading).focus();
    }
  };

  /** @param {Person} person */
  const row = (person) => {
    const item = el('li', 'host-person');
    const who = el('span', 'host-person-who');
    const name = el('span', 'host-person-name', person.name);
    name.title = person.name;
    // The host's own window is in the list too.
    if (identity.currentUser()?.id === person.id) name.append(' ', el('span', 'host-person-you', '(you)'));
    who.append(name, el('span', 'host-person-where', person.address === null ? 'this computer' : `from ${person.address}`));
    item.append(who);
    if (person.address !== null) {
      const remove = el('button', 'host-person-remove', 'Remove');
      remove.type = 'button';
      remove.dataset.id = String(person.id);
      remove.setAttribute('aria-label', `Remove ${person.name}`);
      remove.addEventListener('click', () => {
        asked = person;
        dialogText.textContent = `Remove ${person.name} from the room? They cannot come back with their current invite.`;
        confirm.textContent = `Remove ${person.name}`;
        dialog.returnValue = '';
        dialog.showModal();
        byId('remove-cancel').focus();
      });
      item.append(remove);
    }
    return item;
  };

  let lastAsked = -Infinity;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let generation = 0;
  const fetchPeople = async () => {
    timer = null;
    lastAsked = performance.now();
    const mine = ++generation;
    try {
      const people = await api.core.invoke('people');
      if (mine !== generation) return;
      if (!Array.isArray(people)) throw new Error(`unexpected people list: ${JSON.stringify(people)}`);
      render(people);
      section.hidden = false;
    } catch (reason) {
      if (mine === generation) console.warn('people list unavailable', reason);
    }
  };
  scheduleRefresh = () => {
    if (timer !== null) return;
    timer = setTimeout(fetchPeople, Math.max(0, lastAsked + PEOPLE_REFRESH_GAP_MS - performance.now()));
  };

  /**
   * The Remove button of the person with `id`, as the list shows it now.
   * @param {number} id
   * @returns {HTMLElement | null}
   */
  const buttonOf = (id) => list.querySelector(`button[data-id="${id}"]`);

  dialog.addEventListener('close', async () => {
    const person = asked;
    asked = null;
    const choice = dialog.returnValue;
    dialog.returnValue = '';
    if (!person) return;
    if (choice !== 'remove') {
      (buttonOf(person.id) ?? heading).focus();
      return;
    }
    error.textContent = '';
    try {
      await api.core.invoke('remove_person', { id: person.id });
      announce(`Removed ${person.name}`);
    } catch (reason) {
      error.textContent = `Could not remove ${person.name}: ${reasonOf(reason)}`;
    }
    // Their row goes once the list is fetched again; the focus stays in the list.
    (buttonOf(person.id) ?? heading).focus();
    scheduleRefresh();
  });

  scheduleRefresh();
}
