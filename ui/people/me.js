// @ts-check
/**
 * My own name and avatar on the name button at the top of the page (or a
 * prompt to choose one): the same in every conversation.
 * @module me
 */

import { byId, el } from '../platform/dom.js';
import { avatar } from '../message/render.js';
import * as identity from '../room/identity.js';

/** Shows my name and avatar on the name button (or a prompt to choose one). */
export function showMe() {
  const me = identity.currentUser();
  const button = byId('name-button');
  byId('my-name').textContent = me ? me.name : 'Choose a name';
  const old = button.querySelector('.avatar');
  const fresh = me ? avatar(me) : el('span', 'avatar');
  fresh.id = 'my-avatar';
  fresh.setAttribute('aria-hidden', 'true');
  if (old) old.replaceWith(fresh);
  // The accessible name starts with the visible text (WCAG 2.5.3), then says what the button does.
  byId('name-button-hint').textContent = me ? ', your name: change it' : '';
}
