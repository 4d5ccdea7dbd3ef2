// @ts-check
/**
 * Hearth's chat page: joins the room, and routes what the room says to the
 * part that owns it. Speaks protocol v1 (docs/protocol.md). Each folder is
 * a concept, its index.js the front door:
 *
 *   room/       the link to the room: the connection, requests, who I am
 *   timeline/   one conversation's view: its messages, log, unread marker,
 *               people, comings and goings (conversationView makes them)
 *   message/    one message on screen, its text, files, reactions, actions
 *   composer/   writing a message and the files sent with it
 *   people/     who is here, my name and the dialog that picks it
 *   search/     the search panel
 *   host/       the desktop window's host panel, sharing, closing
 *   platform/   the desktop bridge, attention (title, notifications), DOM helpers
 * @module app
 */

import { composer } from './composer/index.js';
import { hostPanel } from './host/index.js';
import { files, fillQuote, messageActions, reactions, summary } from './message/index.js';
import { nameDialog, showMe } from './people/index.js';
import { attention, byId, desktop } from './platform/index.js';
import { identity, JOIN_TIMEOUT_REASON, RoomConnection, session, SHARING_STOPPED_REASON } from './room/index.js';
import { SEARCH_LIMIT, SearchPanel } from './search/index.js';
import { conversationView } from './timeline/index.js';

/** @typedef {import('./room/identity.js').User} User */
/** @typedef {import('./timeline/conversation.js').ChatMessage} ChatMessage */

/** The one conversation this page shows (the room's). */
const view = conversationView(document);

const ui = {
  status: byId('status'),
  statusText: byId('status-text'),
  emptyAddress: byId('empty-address'),
  clearDialog: /** @type {HTMLDialogElement} */ (byId('clear-dialog')),
};

const search = new SearchPanel({
  send: (query) => session.request({ kind: 'search', query }, { type: 'search', query, room: view.shows.room, limit: SEARCH_LIMIT }),
  choose: (id) => view.timeline.jumpTo(id),
  canOpen: () => !nameDialog.isOpen() && !ui.clearDialog.open && !messageActions.dialogOpen() && !files.lightboxOpen() && !hostPanel.dialogOpen(),
});

// ---------------------------------------------------------------- start-up

async function start() {
  let url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  let address = location.origin;
  if (desktop.isDesktop()) {
    const info = await desktop.roomInfo();
    if (info) {
      address = info.url;
      url = `${info.url.replace(/^http/, 'ws')}/ws`;
      files.setRoomAddress(info.url);
      hostPanel.mount(info, attention.announce).catch((error) => console.error('host panel', error));
    }
  } else {
    attention.offerNotifications();
  }
  ui.emptyAddress.textContent = address;

  // Every part is mounted before the room can say anything to it.
  view.people.mount({
    changed: () => {
      view.timeline.updateEmptyState();
      hostPanel.peopleChanged();
    },
    announce: attention.announce,
  });
  composer.mount({
    editLast: messageActions.editLast,
    backToLatest: () => {
      if (view.timeline.isAway()) view.timeline.jumpToLatest();
    },
  });
  nameDialog.mount({ afterClose: composer.focus, maxChars: () => composer.currentLimits().max_name_chars });
  view.timeline.mount({ focusComposer: composer.focus });
  messageActions.mount({
    conversation: view.conversation,
    reply: composer.reply,
    jumpTo: (id) => view.timeline.jumpTo(id),
    focusComposer: composer.focus,
    showError: composer.showError,
    maxMessageBytes: () => composer.currentLimits().max_message_bytes,
    log: view.scroll.log,
  });
  view.unread.mount({ jumpTo: (id) => view.timeline.jumpTo(id) });
  files.mount();
  attention.mount();

  const connection = new RoomConnection(url);
  session.mount(connection);
  connection.addEventListener('state', (event) => showConnectionState(/** @type {CustomEvent} */ (event).detail));
  connection.addEventListener('open', onOpen);
  connection.addEventListener('message', (event) => onMessage(/** @type {CustomEvent} */ (event).detail));
  connection.addEventListener('close', (event) => onClose(/** @type {CustomEvent<CloseEvent>} */ (event).detail));
  connection.connect();
  if (!identity.wanted()) nameDialog.open('join');
}

// ---------------------------------------------------------------- connection

function onOpen() {
  const name = identity.wanted();
  if (name) session.request({ kind: 'hello' }, { type: 'hello', name, key: identity.key() });
}

/** @param {CloseEvent} event */
function onClose(event) {
  view.arrivals.flush();
  identity.leave();
  hostPanel.refreshHostCount();
  view.people.clearTyping();
  // Nothing sent on that socket will be answered now, and nothing queued
  // will be sent on it; messages that never left go back in the box.
  const { unanswered, neverSent } = session.drop();
  const unsent = neverSent.flatMap((pending) => (pending.kind === 'say' ? [pending.text] : []));
  if (unsent.length > 0) composer.restoreDraft(unsent.join('\n'));
  view.timeline.connectionLost();
  search.lost();
  if (event.code === 1009) {
    composer.showError(`That message was too long: the limit is ${composer.formatBytes(composer.currentLimits().max_message_bytes)}.`);
    const lastSay = unanswered.filter((pending) => pending.kind === 'say').at(-1);
    if (lastSay?.kind === 'say') composer.restoreDraft(lastSay.text);
  } else if (event.code === 1008 && event.reason === JOIN_TIMEOUT_REASON) {
    // Nobody joined on this socket for a while; it reopens when someone does.
  } else if (event.code === 1008) {
    composer.showError('The room dropped this window for falling behind; reconnecting…');
  }
  composer.update();
}

/** @type {ReturnType<typeof setInterval> | undefined} */
let countdown;

/** @param {import('./room/connection.js').StateDetail} detail */
function showConnectionState(detail) {
  clearInterval(countdown);
  ui.status.dataset.state = detail.state;
  const render = () => {
    const seconds = Math.max(0, Math.ceil(((detail.retryAt ?? Date.now()) - Date.now()) / 1000));
    switch (detail.state) {
      case 'idle':
        ui.statusText.textContent = 'Pick a name to join';
        break;
      case 'connecting':
        ui.statusText.textContent = 'Connecting…';
        break;
      case 'connected':
        ui.statusText.textContent = 'Connected';
        break;
      case 'reconnecting':
        ui.statusText.textContent = seconds > 0 ? `Reconnecting in ${seconds} s…` : 'Reconnecting…';
        break;
      case 'closed': {
        const what = detail.closeReason === SHARING_STOPPED_REASON ? 'The host stopped sharing the room' : 'The host closed the room';
        ui.statusText.textContent = `${what} · retrying${seconds > 0 ? ` in ${seconds} s` : '…'}`;
        break;
      }
      case 'removed':
        ui.statusText.textContent = 'The host removed you from the room';
        break;
      case 'offline':
        ui.statusText.textContent = 'Offline · waiting for the network';
        break;
    }
  };
  render();
  if (detail.retryAt) countdown = setInterval(render, 500);
  composer.update();
}

/** Frames that add lines to the view.timeline. */
const LINES = new Set(['welcome', 'message', 'renamed', 'cleared']);

/** Frames about one conversation: only the shown one's reach the view. */
const ABOUT_A_CONVERSATION = new Set(['message', 'edited', 'deleted', 'reaction', 'typing']);

/** @param {any} message */
function onMessage(message) {
  if (ABOUT_A_CONVERSATION.has(message.type) && message.room !== undefined && message.room !== view.shows.room) return;
  // Comings and goings not said yet go into the timeline before anything else does.
  if (LINES.has(message.type)) view.arrivals.flush();
  switch (message.type) {
    case 'welcome':
      onWelcome(message);
      hostPanel.refreshHostCount();
      break;
    case 'message':
      onLiveMessage(message);
      break;
    case 'history':
      view.timeline.historyAnswered(session.answered('history'), message);
      break;
    case 'results':
      session.answered('search');
      search.showResults(message);
      break;
    case 'edited':
      onEdited(message);
      break;
    case 'deleted':
      onDeleted(message);
      break;
    case 'reaction':
      onReaction(message);
      break;
    case 'cleared':
      messageActions.cancelEdit(false);
      reactions.close(false);
      view.timeline.cleared();
      search.refresh();
      break;
    case 'joined':
      view.people.joined(message.user);
      view.arrivals.news([message.user], []);
      break;
    case 'left':
      view.people.left(message.user);
      view.arrivals.news([], [message.user]);
      break;
    case 'presence': {
      const joined = message.joined ?? [];
      const left = message.left ?? [];
      const unnamed = view.people.presence(joined, left, message.people);
      view.arrivals.news(joined, left, unnamed);
      break;
    }
    case 'people':
      if (session.answered('people')) view.people.paged(message.users, message.next);
      break;
    case 'renamed':
      onRenamed(message.user, message.previous);
      break;
    case 'typing':
      if (!identity.isMe(message.user)) view.people.startTyping(message.user);
      break;
    case 'room_added':
    case 'room_changed':
    case 'room_removed':
      hostPanel.roomsChanged();
      break;
    case 'error':
      onServerError(message.code, message.message);
      break;
  }
}

/**
 * Joined (again): see view.timeline.welcomed for what happens to the view. The
 * people list starts over from the welcome's first page of view.people.
 * @param {{room: string, you: User, users: User[], people?: number, people_next?: number | null,
 *   history: ChatMessage[], first_id: number, limits: import('./composer/composer.js').Limits,
 *   rooms?: {id: number, default?: boolean}[]}} welcome
 */
function onWelcome(welcome) {
  session.answered('hello');
  view.shows.room = welcome.rooms?.find((room) => room.default)?.id ?? view.shows.room;
  identity.joinedAs(welcome.you);
  composer.setLimits(welcome.limits);
  view.people.reset(welcome);
  view.timeline.welcomed(welcome);
  view.unread.welcomed();
  if (nameDialog.openFor() === 'join') nameDialog.close();
  showMe();
  composer.update();
  view.timeline.settle();
  search.refresh();
}

/**
 * @param {User} user
 * @param {string} previous
 */
function onRenamed(user, previous) {
  if (identity.isMe(user)) {
    session.answered('rename');
    identity.joinedAs(user);
    showMe();
    if (nameDialog.openFor() === 'rename') nameDialog.close();
    view.timeline.system(`You are now ${user.name}`);
  } else {
    view.timeline.system(`${previous} is now ${user.name}`);
  }
  view.people.renamed(user);
}

/**
 * A request failed: the oldest unanswered one.
 * @param {string} code
 * @param {string} text
 */
function onServerError(code, text) {
  const pending = session.refused();
  if (code === 'name_taken' || code === 'invalid_name') {
    if (!nameDialog.openFor()) nameDialog.open(identity.currentUser() ? 'rename' : 'join');
    nameDialog.showError(code === 'name_taken' ? 'Someone here already has that name. Try another.' : text);
    return;
  }
  switch (pending?.kind) {
    case 'history':
      view.timeline.historyRefused(pending, code, text);
      break;
    case 'search':
      search.failed(pending.query, code);
      break;
    case 'people':
      view.people.pageFailed(code, text);
      break;
    case 'hello':
    case 'rename':
      if (nameDialog.openFor()) nameDialog.showError(code === 'rate_limited' ? 'Too many tries at once. Wait a moment, then try again.' : text);
      else composer.showError(text);
      break;
    case 'say': {
      // Messages typed after it and not sent yet come back with it, in order.
      const says = [pending, ...session.takeQueuedSays()];
      session.sendQueued();
      if (code === 'rate_limited') {
        composer.showError('You are sending messages too quickly. Wait a moment, then send again.');
      } else if (code === 'storage_unavailable') {
        composer.showError('The room could not save your message, so nobody received it. It is back in the box: try again in a moment.');
      } else {
        composer.showError(text);
      }
      composer.restoreDraft(says.map((say) => say.text).filter((said) => said !== '').join('\n'));
      composer.restoreExtras(pending.replyTo, says.flatMap((say) => say.files ?? []));
      break;
    }
    case 'edit': {
      session.sendQueued();
      composer.showError(code === 'rate_limited' ? 'Too many changes at once: your edit was not saved. Try again in a moment.' : text);
      // The edit is not lost: the editor opens again with it, if the message can still be edited.
      if (code !== 'not_found' && code !== 'forbidden') messageActions.startEdit(pending.id, pending.text);
      break;
    }
    case 'delete':
    case 'react':
      session.sendQueued();
      composer.showError(code === 'rate_limited' ? 'Too many changes at once. Wait a moment, then try again.' : text);
      break;
    default:
      composer.showError(text);
  }
}

/** @param {ChatMessage} message */
function onLiveMessage(message) {
  // The echo of what this page (this connection) sent.
  const echo = identity.isMe(message.from);
  if (echo && session.answered('say')) session.sendQueued();
  view.people.stopTyping(message.from.id);
  view.timeline.live(message, echo);
  if (!identity.isSelf(message.from)) {
    const what = summary(message, 200);
    attention.announce(`${message.from.name}: ${what}`);
    attention.drawAttention(message.from.name, what);
  }
}

/**
 * The start of a message's text, as a reply quotes it.
 * @param {string} text
 */
function excerptOf(text) {
  const chars = Array.from(text);
  return chars.length > 100 ? `${chars.slice(0, 100).join('')}…` : text;
}

/**
 * Replies to message `id` on screen show `change`d quotes.
 * @param {number} id
 * @param {(quote: import('./timeline/conversation.js').Quote) => void} change
 */
function updateQuotes(id, change) {
  view.timeline.eachMessage((message) => {
    if (message.reply_to?.id === id) change(message.reply_to);
  });
  for (const button of document.querySelectorAll(`#messages button.quote[data-ref="${id}"]`)) {
    const item = button.closest('li.msg');
    const quoted = view.conversation.message(Number(/** @type {HTMLElement | null} */ (item)?.dataset.id))?.reply_to;
    if (quoted) fillQuote(/** @type {HTMLElement} */ (button), quoted);
  }
}

/** @param {{id: number, text: string, edited_ts: number}} frame */
function onEdited(frame) {
  if (session.answeredWhere('edit', (pending) => pending.id === frame.id)) session.sendQueued();
  view.timeline.updateMessage(frame.id, (message) => {
    message.text = frame.text;
    message.edited_ts = frame.edited_ts;
  });
  view.timeline.refresh(frame.id);
  updateQuotes(frame.id, (quote) => {
    quote.excerpt = excerptOf(frame.text);
  });
  const reply = composer.replyingTo();
  if (reply?.id === frame.id) composer.setReply({ ...reply, excerpt: excerptOf(frame.text) });
}

/** @param {{id: number}} frame */
function onDeleted(frame) {
  if (session.answeredWhere('delete', (pending) => pending.id === frame.id)) session.sendQueued();
  if (messageActions.editingId() === frame.id) messageActions.cancelEdit(false);
  if (reactions.paletteFor() === frame.id) reactions.close(false);
  view.timeline.updateMessage(frame.id, (message) => {
    message.deleted = true;
    message.text = '';
    delete message.files;
    delete message.edited_ts;
    delete message.reactions;
  });
  view.timeline.refresh(frame.id);
  updateQuotes(frame.id, (quote) => {
    quote.deleted = true;
    quote.excerpt = '';
  });
  if (composer.replyingTo()?.id === frame.id) composer.setReply(null);
}

/** @param {{id: number, emoji: string, user: User, added: boolean}} frame */
function onReaction(frame) {
  if (identity.isMe(frame.user) && session.answeredWhere('react', (pending) => pending.id === frame.id)) session.sendQueued();
  const shown = view.timeline.updateMessage(frame.id, (message) => reactions.apply(message, frame.emoji, frame.user, frame.added));
  if (shown) view.timeline.refresh(frame.id);
}

start().catch((error) => {
  console.error('Hearth failed to start', error);
  ui.statusText.textContent = 'Something went wrong starting Hearth; reload the page.';
});
