// @ts-check
/**
 * Hearth's chat page: joins the room, and routes what the room says to the
 * module that owns it. Speaks protocol v1 (docs/protocol.md).
 *
 *   session.js      requests sent and not answered yet
 *   identity.js     my name and user
 *   timeline.js     what the log shows (conversation.js: the messages in it)
 *   composer.js     the message box
 *   people.js       who is here and who is typing
 *   name-dialog.js  picking or changing a name
 *   search.js       the search panel
 *   attention.js    title count, notifications, screen-reader announcements
 * @module app
 */

import * as attention from './attention.js';
import * as composer from './composer.js';
import { JOIN_TIMEOUT_REASON, RoomConnection } from './connection.js';
import * as desktop from './desktop.js';
import { byId } from './dom.js';
import * as identity from './identity.js';
import * as nameDialog from './name-dialog.js';
import * as people from './people.js';
import { SEARCH_LIMIT, SearchPanel } from './search.js';
import * as session from './session.js';
import * as timeline from './timeline.js';

/** @typedef {import('./identity.js').User} User */
/** @typedef {import('./conversation.js').ChatMessage} ChatMessage */

const ui = {
  status: byId('status'),
  statusText: byId('status-text'),
  emptyAddress: byId('empty-address'),
  clearDialog: /** @type {HTMLDialogElement} */ (byId('clear-dialog')),
};

const search = new SearchPanel({
  send: (query) => session.request({ kind: 'search', query }, { type: 'search', query, limit: SEARCH_LIMIT }),
  choose: (id) => timeline.jumpTo(id),
  canOpen: () => !nameDialog.isOpen() && !ui.clearDialog.open,
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
      desktop.setupHostPanel(info, attention.announce).catch((error) => console.error('host panel', error));
    }
  } else {
    attention.offerNotifications();
  }
  ui.emptyAddress.textContent = address;

  const connection = new RoomConnection(url);
  session.attach(connection);
  connection.addEventListener('state', (event) => showConnectionState(/** @type {CustomEvent} */ (event).detail));
  connection.addEventListener('open', onOpen);
  connection.addEventListener('message', (event) => onMessage(/** @type {CustomEvent} */ (event).detail));
  connection.addEventListener('close', (event) => onClose(/** @type {CustomEvent<CloseEvent>} */ (event).detail));
  connection.connect();

  people.init({ changed: timeline.updateEmptyState });
  composer.wire();
  nameDialog.wire({ afterClose: composer.focus, maxChars: () => composer.currentLimits().max_name_chars });
  timeline.init({ focusComposer: composer.focus });
  attention.wire();
  if (!identity.wanted()) nameDialog.open('join');
}

// ---------------------------------------------------------------- connection

function onOpen() {
  const name = identity.wanted();
  if (name) session.request({ kind: 'hello' }, { type: 'hello', name });
}

/** @param {CloseEvent} event */
function onClose(event) {
  identity.leave();
  people.clearTyping();
  // Nothing sent on that socket will be answered now, and nothing queued
  // will be sent on it; messages that never left go back in the box.
  const { unanswered, neverSent } = session.drop();
  const unsent = neverSent.flatMap((pending) => (pending.kind === 'say' ? [pending.text] : []));
  if (unsent.length > 0) composer.restoreDraft(unsent.join('\n'));
  timeline.connectionLost();
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

/** @param {import('./connection.js').StateDetail} detail */
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
      case 'closed':
        ui.statusText.textContent = `The host closed the room · retrying${seconds > 0 ? ` in ${seconds} s` : '…'}`;
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

/** @param {any} message */
function onMessage(message) {
  switch (message.type) {
    case 'welcome':
      onWelcome(message);
      break;
    case 'message':
      onLiveMessage(message);
      break;
    case 'history':
      timeline.historyAnswered(session.answered('history'), message);
      break;
    case 'results':
      session.answered('search');
      search.showResults(message);
      break;
    case 'cleared':
      timeline.cleared();
      search.refresh();
      break;
    case 'joined':
      people.joined(message.user);
      timeline.system(`${message.user.name} joined`);
      attention.announce(`${message.user.name} joined`);
      break;
    case 'left':
      people.left(message.user);
      timeline.system(`${message.user.name} left`);
      break;
    case 'renamed':
      onRenamed(message.user, message.previous);
      break;
    case 'typing':
      if (!identity.isMe(message.user)) people.startTyping(message.user);
      break;
    case 'error':
      onServerError(message.code, message.message);
      break;
  }
}

/**
 * Joined (again): see timeline.welcomed for what happens to the view.
 * @param {{room: string, you: User, users: User[], history: ChatMessage[], first_id: number,
 *   limits: import('./composer.js').Limits}} welcome
 */
function onWelcome(welcome) {
  session.answered('hello');
  identity.joinedAs(welcome.you);
  composer.setLimits(welcome.limits);
  people.reset(welcome.users);
  timeline.welcomed(welcome);
  if (nameDialog.openFor() === 'join') nameDialog.close();
  people.showMe();
  composer.update();
  timeline.settle();
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
    people.showMe();
    if (nameDialog.openFor() === 'rename') nameDialog.close();
    timeline.system(`You are now ${user.name}`);
  } else {
    timeline.system(`${previous} is now ${user.name}`);
  }
  people.renamed(user);
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
      timeline.historyRefused(pending, code, text);
      break;
    case 'search':
      search.failed(pending.query, code);
      break;
    case 'hello':
    case 'rename':
      if (nameDialog.openFor()) nameDialog.showError(code === 'rate_limited' ? 'Too many tries at once. Wait a moment, then try again.' : text);
      else composer.showError(text);
      break;
    case 'say': {
      // Messages typed after it and not sent yet come back with it, in order.
      const texts = [pending.text, ...session.takeQueuedSays()];
      session.sendQueued();
      if (code === 'rate_limited') {
        composer.showError('You are sending messages too quickly. Wait a moment, then send again.');
      } else if (code === 'storage_unavailable') {
        composer.showError('The room could not save your message, so nobody received it. It is back in the box: try again in a moment.');
      } else {
        composer.showError(text);
      }
      composer.restoreDraft(texts.join('\n'));
      break;
    }
    default:
      composer.showError(text);
  }
}

/** @param {ChatMessage} message */
function onLiveMessage(message) {
  const mine = identity.isMe(message.from);
  if (mine && session.answered('say')) session.sendQueued();
  people.stopTyping(message.from.id);
  timeline.live(message, mine);
  if (!mine) {
    attention.announce(`${message.from.name}: ${message.text.slice(0, 200)}`);
    attention.drawAttention(message);
  }
}

start().catch((error) => {
  console.error('Hearth failed to start', error);
  ui.statusText.textContent = 'Something went wrong starting Hearth; reload the page.';
});
