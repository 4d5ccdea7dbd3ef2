// @ts-check
/**
 * One chat message as the conversation shows it: avatar, author, time and
 * the formatted text.
 * @module message-view
 */

import { el } from './dom.js';
import { mentions, messageText } from './format.js';
import * as identity from './identity.js';
import { avatar, formatTime, formatWhen } from './render.js';

/** @typedef {import('./conversation.js').ChatMessage} ChatMessage */

/**
 * @param {ChatMessage} message
 * @returns {HTMLLIElement}
 */
export function renderMessage(message) {
  const mine = identity.isMe(message.from);
  const myName = identity.myName();
  const item = el('li', 'msg');
  item.dataset.id = String(message.id);
  if (mine) item.classList.add('mine');
  if (!mine && mentions(message.text, myName)) item.classList.add('mentions-me');

  const meta = el('div', 'meta');
  meta.append(el('span', 'who', mine ? `${message.from.name} (you)` : message.from.name));
  const time = el('time', undefined, formatWhen(message.ts));
  time.dateTime = new Date(message.ts).toISOString();
  meta.append(time);
  const text = messageText(message.text, myName);
  text.title = formatTime(message.ts);
  item.append(avatar(message.from), meta, text);
  return item;
}
