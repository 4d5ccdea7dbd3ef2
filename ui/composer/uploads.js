// @ts-check
/**
 * Files attached in the composer: from the attach button, a paste or a
 * drop; each uploaded at once with `POST /files` (XMLHttpRequest, so its
 * progress shows), with a button to cancel or remove it. A file over the
 * room's limit is refused before anything is sent. The room takes one file
 * at a time from each person, so several attached at once go one after
 * another. The one owner of the
 * attachments of the message being written.
 * @module uploads
 */

import { byId, el } from '../platform/dom.js';
import { formatSize, uploadUrl } from '../message/files.js';
import * as identity from '../room/identity.js';

/** @typedef {import('../timeline/conversation.js').FileInfo} FileInfo */
/**
 * @typedef {object} Upload
 * @property {number} key
 * @property {string} name
 * @property {number} size
 * @property {'waiting' | 'uploading' | 'done'} state
 * @property {number} loaded bytes sent so far
 * @property {File | null} file what is still to be sent
 * @property {XMLHttpRequest | null} xhr
 * @property {FileInfo | null} info what the room answered
 */

/** The elements this part of the page uses, looked up once it is mounted. */
function elements() {
  return {
    chat: byId('chat'),
    input: /** @type {HTMLInputElement} */ (byId('attach-input')),
    list: byId('attachments'),
    textarea: /** @type {HTMLTextAreaElement} */ (byId('composer-input')),
  };
}

/** @type {ReturnType<typeof elements>} */
let ui;

/** @type {Upload[]} */
let uploads = [];
let nextKey = 1;
let maxBytes = 10 * 1024 * 1024;
let maxFiles = 10;
/** @type {(() => void) | null} called once every upload is done (a message waits to be sent) */
let whenDone = null;

/**
 * @typedef {object} UploadHooks
 * @property {(text: string) => void} showError says why a file was not attached
 * @property {() => void} changed the attachments changed (what can be sent may have)
 */
/** @type {UploadHooks} */
let hooks = { showError: () => {}, changed: () => {} };

/** @param {UploadHooks} given */
export function mount(given) {
  ui = elements();
  hooks = given;
  ui.input.addEventListener('change', () => {
    add([...(ui.input.files ?? [])]);
    // The same file can be chosen again.
    ui.input.value = '';
  });
  ui.textarea.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    // A copied picture often comes with its name or address as text too: the file is what was meant.
    event.preventDefault();
    add(files);
  });
  const hasFiles = (/** @type {DragEvent} */ event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
  let depth = 0;
  ui.chat.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth += 1;
    ui.chat.classList.add('dropping');
  });
  ui.chat.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  });
  ui.chat.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) ui.chat.classList.remove('dropping');
  });
  ui.chat.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    ui.chat.classList.remove('dropping');
    add([...(event.dataTransfer?.files ?? [])]);
    ui.textarea.focus();
  });
  // A file dropped anywhere else must not replace the page.
  window.addEventListener('dragover', (event) => { if (hasFiles(event)) event.preventDefault(); });
  window.addEventListener('drop', (event) => { if (hasFiles(event)) event.preventDefault(); });
  ui.list.addEventListener('click', (event) => {
    const button = /** @type {Element} */ (event.target).closest('button.remove-attachment');
    if (button instanceof HTMLButtonElement) remove(Number(button.dataset.key), true);
  });
}

/**
 * The room's limits, from its welcome.
 * @param {number | undefined} bytes
 * @param {number | undefined} files
 */
export function setLimits(bytes, files) {
  if (typeof bytes === 'number' && bytes > 0) maxBytes = bytes;
  if (typeof files === 'number' && files > 0) maxFiles = files;
}

/**
 * Attaches files: each within the limits is uploaded at once; the others
 * are refused with a word why.
 * @param {File[]} files
 */
export function add(files) {
  /** @type {string[]} */
  const refused = [];
  for (const file of files) {
    if (uploads.length >= maxFiles) {
      refused.push(`A message can carry at most ${maxFiles} files.`);
      break;
    }
    if (file.size > maxBytes) {
      refused.push(`${file.name || 'That file'} is too big (max ${formatSize(maxBytes)}).`);
      continue;
    }
    if (file.size === 0) {
      refused.push(`${file.name || 'That file'} is empty.`);
      continue;
    }
    start(file);
  }
  hooks.showError(refused.join(' '));
  render();
  hooks.changed();
}

/** @param {File} file */
function start(file) {
  uploads.push({ key: nextKey++, name: file.name || 'pasted file', size: file.size, state: 'waiting', loaded: 0, file, xhr: null, info: null });
  next();
}

/** Sends the first waiting file, unless one is on its way. */
function next() {
  if (uploads.some((upload) => upload.state === 'uploading')) return;
  const upload = uploads.find((other) => other.state === 'waiting');
  if (!upload?.file) return;
  const file = upload.file;
  upload.file = null;
  upload.state = 'uploading';
  const xhr = new XMLHttpRequest();
  upload.xhr = xhr;
  xhr.open('POST', uploadUrl());
  xhr.upload.addEventListener('progress', (event) => {
    upload.loaded = event.loaded;
    renderProgress(upload);
  });
  xhr.addEventListener('load', () => {
    const body = parse(xhr.responseText);
    if (xhr.status === 200 && body?.file && typeof body.file.id === 'string') {
      upload.state = 'done';
      upload.loaded = upload.size;
      upload.info = body.file;
      upload.xhr = null;
      render();
      next();
      settled();
    } else {
      failed(upload, refusal(upload, xhr.status, body?.error));
    }
  });
  xhr.addEventListener('error', () => failed(upload, `${upload.name} could not be uploaded: the room could not be reached.`));
  xhr.addEventListener('timeout', () => failed(upload, `${upload.name} could not be uploaded: the room took too long to answer.`));
  // The key first: the room takes files only from people in it, and
  // reads the form in order.
  const form = new FormData();
  form.append('key', identity.key());
  form.append('file', file, upload.name);
  xhr.send(form);
  render();
}

/** @param {string} text */
function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Why the room refused an upload, in a sentence.
 * @param {Upload} upload
 * @param {number} status
 * @param {{code?: string, message?: string} | undefined} error
 */
function refusal(upload, status, error) {
  const code = error?.code ?? '';
  if (code === 'too_big' || status === 413) return `${upload.name} is too big (max ${formatSize(maxBytes)}).`;
  if (code === 'rate_limited' || status === 429) return `Too many uploads at once: ${upload.name} was not sent. Wait a moment, then attach it again.`;
  if (code === 'files_full') return `The room has no space left for files, so ${upload.name} was not sent.`;
  if (code === 'person_files_full') return `You have sent as many files as the room keeps for one person, so ${upload.name} was not sent. Deleting your messages with files frees space.`;
  if (code === 'disk_full') return `The host's disk is nearly full, so ${upload.name} was not sent.`;
  if (code === 'not_joined') return `${upload.name} was not sent: you are not in the room right now. Wait until you are back, then attach it again.`;
  if (code === 'too_slow') return `${upload.name} arrived too slowly and was not kept. Try again on a better connection.`;
  if (code === 'busy') return `The room is receiving other files right now, so ${upload.name} was not sent. Attach it again in a moment.`;
  if (code === 'storage_unavailable' || status === 503) return `The room cannot store files right now, so ${upload.name} was not sent. Try again later.`;
  if (error?.message) return `${upload.name} was not accepted: ${error.message}`;
  return `${upload.name} could not be uploaded (HTTP ${status}).`;
}

/**
 * An upload failed: it leaves the list, and the composer says why.
 * @param {Upload} upload
 * @param {string} why
 */
function failed(upload, why) {
  uploads = uploads.filter((other) => other !== upload);
  // A message waiting for it stays unsent, its text in the box.
  whenDone = null;
  hooks.showError(why);
  render();
  hooks.changed();
  next();
}

/**
 * Cancels an upload, or removes a finished one.
 * @param {number} key
 * @param {boolean} refocus
 */
function remove(key, refocus) {
  const upload = uploads.find((other) => other.key === key);
  if (!upload) return;
  upload.xhr?.abort();
  uploads = uploads.filter((other) => other !== upload);
  next();
  render();
  hooks.changed();
  settled();
  if (refocus) ui.textarea.focus();
}

function settled() {
  if (whenDone && uploads.every((upload) => upload.state === 'done')) {
    const send = whenDone;
    whenDone = null;
    send();
  }
}

/** Whether any file is attached (uploading or done). */
export function any() {
  return uploads.length > 0;
}

/** Whether some upload is still under way. */
export function busy() {
  return uploads.some((upload) => upload.state !== 'done');
}

/**
 * Calls `send` once every upload is done (at once if they are).
 * @param {() => void} send
 */
export function whenReady(send) {
  whenDone = send;
  settled();
}

/** Whether a message waits for uploads to finish. */
export function waiting() {
  return whenDone !== null;
}

/** The files uploaded, as the room described them. @returns {FileInfo[]} */
export function ready() {
  return uploads.flatMap((upload) => (upload.info ? [upload.info] : []));
}

/** The message went out with them: the composer starts empty. */
export function clear() {
  for (const upload of uploads) upload.xhr?.abort();
  uploads = [];
  whenDone = null;
  render();
}

/**
 * Files of a message the room refused, back in the composer (uploaded already).
 * @param {FileInfo[]} files
 */
export function restore(files) {
  for (const info of files) {
    if (uploads.some((upload) => upload.info?.id === info.id)) continue;
    uploads.push({ key: nextKey++, name: info.name, size: info.size, state: 'done', loaded: info.size, file: null, xhr: null, info });
  }
  render();
  hooks.changed();
}

function render() {
  ui.list.hidden = uploads.length === 0;
  ui.list.replaceChildren(
    ...uploads.map((upload) => {
      const item = el('li', `attachment ${upload.state}`);
      item.dataset.key = String(upload.key);
      const name = el('span', 'attachment-name', upload.name);
      const size = el('span', 'attachment-size', formatSize(upload.size));
      const progress = el('progress', 'attachment-progress');
      progress.max = Math.max(1, upload.size);
      progress.value = upload.loaded;
      progress.setAttribute('aria-label', `Uploading ${upload.name}`);
      progress.hidden = upload.state === 'done';
      const status = el('span', 'attachment-status', upload.state === 'done' ? 'ready' : upload.state === 'waiting' ? 'waiting' : percent(upload));
      const remove = el('button', 'remove-attachment ghost', '×');
      remove.type = 'button';
      remove.dataset.key = String(upload.key);
      remove.setAttribute('aria-label', `${upload.state === 'done' ? 'Remove' : 'Cancel uploading'} ${upload.name}`);
      remove.title = upload.state === 'done' ? 'Remove' : 'Cancel upload';
      item.append(name, size, progress, status, remove);
      return item;
    }),
  );
}

/** @param {Upload} upload */
function percent(upload) {
  return `${Math.floor((100 * upload.loaded) / Math.max(1, upload.size))} %`;
}

/** @param {Upload} upload */
function renderProgress(upload) {
  const item = ui.list.querySelector(`li[data-key="${upload.key}"]`);
  if (!item) return;
  const progress = /** @type {HTMLProgressElement | null} */ (item.querySelector('progress'));
  if (progress) progress.value = upload.loaded;
  const status = item.querySelector('.attachment-status');
  if (status) status.textContent = percent(upload);
}
