// @ts-check
/**
 * What closing the desktop window does while other people are in the room:
 * the dialog that asks (when the desktop shell sends `close-requested`) and
 * the host panel's setting that remembers the answer. The shell decides
 * when to ask; this only asks and answers.
 * @module closing
 */

import { byId } from '../platform/dom.js';

/** @typedef {'ask' | 'keep_hosting' | 'close_room'} WhenClosed */

/**
 * @param {{core: {invoke: (cmd: string, args?: object) => Promise<any>},
 *   event: {listen: (event: string, handler: (event: {payload: any}) => void) => Promise<() => void>}}} api
 * @param {(message: string) => void} showError says what went wrong in the host panel
 */
export async function setupClosing(api, showError) {
  const dialog = /** @type {HTMLDialogElement} */ (byId('close-dialog'));
  const text = byId('close-text');
  const closeRoom = byId('close-room');
  const remember = /** @type {HTMLInputElement} */ (byId('close-remember'));
  const setting = /** @type {HTMLSelectElement} */ (byId('when-closed'));

  setting.value = /** @type {WhenClosed} */ (await api.core.invoke('when_closed'));
  setting.addEventListener('change', () => {
    api.core
      .invoke('set_when_closed', { whenClosed: setting.value })
      .then(() => showError(''), (error) => showError(`Could not save the setting: ${error}`));
  });

  await api.event.listen('close-requested', (event) => {
    const others = Number(event.payload);
    const people = others === 1 ? '1 other person is' : `${others} other people are`;
    text.textContent = `${people} still connected. Hearth can keep hosting from the tray with this window hidden.`;
    closeRoom.textContent = others === 1 ? 'Close the room for 1 person' : `Close the room for ${others} people`;
    remember.checked = false;
    if (!dialog.open) dialog.showModal();
  });

  dialog.addEventListener('close', () => {
    const choice = dialog.returnValue;
    dialog.returnValue = '';
    if (choice !== 'keep_hosting' && choice !== 'close_room') return;
    if (remember.checked) setting.value = choice;
    api.core
      .invoke('close_choice', { choice, remember: remember.checked })
      .catch((error) => showError(`Could not do that: ${error}`));
  });
}
