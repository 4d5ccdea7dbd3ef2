// @ts-check
/**
 * The timeline: one conversation as the page shows it. A conversation view
 * is made of parts that each own one thing (the messages, the scrolling
 * log, the unread marker, the people, the lines about comings and goings,
 * and the timeline that ties them to the room's history), made together
 * for each conversation by {@link conversationView}, so that two rooms can
 * each have their own.
 * @module timeline
 */

import { Arrivals } from './arrivals.js';
import { Conversation } from './conversation.js';
import { Scroll } from './scroll.js';
import { Timeline } from './timeline.js';
import { UnreadMarker } from './unread.js';
import { PeopleList } from '../people/people.js';
import { renderMessage } from '../message/view.js';

/** @typedef {ReturnType<typeof conversationView>} ConversationView */

/**
 * The parts of one conversation's view, in the elements under `root` that
 * carry their `data-part` names (`log`, `messages`, `people`, …).
 * @param {ParentNode} root
 */
export function conversationView(root) {
  /** @param {string} name */
  const part = (name) => {
    const found = root.querySelector(`[data-part="${name}"]`);
    if (!(found instanceof HTMLElement)) throw new Error(`the page has no ${name}`);
    return found;
  };
  const button = (/** @type {string} */ name) => /** @type {HTMLButtonElement} */ (part(name));
  const scroll = new Scroll({ log: part('log'), messages: part('messages'), pill: button('new-messages') });
  const conversation = new Conversation(/** @type {HTMLOListElement} */ (part('messages')), renderMessage);
  const unread = new UnreadMarker({ conversation, scroll, button: button('jump-unread') });
  const people = new PeopleList({
    list: part('people'),
    count: part('people-count'),
    more: button('people-more'),
    shown: part('people-shown'),
    error: part('people-more-error'),
    typing: part('typing'),
  });
  const timeline = new Timeline({
    elements: {
      historyTop: part('history-top'),
      loadEarlier: button('load-earlier'),
      historyStatus: part('history-status'),
      olderBar: part('older-bar'),
      olderBarText: part('older-bar-text'),
      jumpLatest: button('jump-latest'),
      emptyState: part('empty-state'),
    },
    conversation,
    scroll,
    unread,
    people,
  });
  const arrivals = new Arrivals((text) => timeline.system(text));
  /** Which of the room's conversations this view shows (General's id until welcome says). */
  const shows = { room: 1 };
  return { scroll, conversation, unread, people, timeline, arrivals, shows };
}
