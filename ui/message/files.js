// @ts-check
/**
 * Files sent with messages: pictures shown inline (scaled to fit, full size
 * in a lightbox on click), anything else as a download link with its name
 * and size. The one owner of the room's HTTP address, which file URLs are
 * relative to: the page's own origin in a browser, the room's address in
 * the desktop window (whose page is tauri://localhost).
 *
 * Only what the server vouches for is shown as a picture (`type` image/png,
 * jpeg, gif or webp, which it tells by the bytes), and only URLs under
 * `/files/` on the room's own address are used at all.
 * @module files
 */

import * as desktop from '../platform/desktop.js';
import { atBottom, byId, el } from '../platform/dom.js';

/** @typedef {import('../timeline/conversation.js').FileInfo} FileInfo */

const PICTURES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** The room's HTTP address, e.g. http://127.0.0.1:7070. */
let base = location.origin;

/** @param {string} address the room's address (desktop window); the page's origin otherwise */
export function setRoomAddress(address) {
  base = address.replace(/\/+$/, '');
}

/** Where `POST /files` goes. */
export function uploadUrl() {
  return `${base}/files`;
}

/**
 * The absolute address of a file the server described, or null unless it
 * is a `/files/…` path of the room itself.
 * @param {string} path
 * @returns {string | null}
 */
export function fileUrl(path) {
  let url;
  try {
    url = new URL(path, `${base}/`);
  } catch {
    return null;
  }
  if (url.origin !== new URL(base).origin || !url.pathname.startsWith('/files/')) return null;
  return url.href;
}

/**
 * A size for people: bytes, KiB or MiB.
 * @param {number} bytes
 */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${trim(bytes / 1024)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${trim(bytes / (1024 * 1024))} MiB`;
  return `${trim(bytes / (1024 * 1024 * 1024))} GiB`;
}

/** @param {number} value */
function trim(value) {
  return value >= 10 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
}

/**
 * Whether the server says this file is a picture.
 * @param {FileInfo} file
 */
export function isPicture(file) {
  return PICTURES.has(file.type);
}

/**
 * The files of one message.
 * @param {FileInfo[]} files
 * @returns {HTMLElement}
 */
export function renderFiles(files) {
  const list = el('ul', 'files');
  for (const file of files) {
    const item = el('li');
    const url = fileUrl(file.url);
    if (url && isPicture(file)) item.append(picture(file, url));
    else item.append(download(file, url));
    list.append(item);
  }
  return list;
}

/**
 * A picture, scaled to fit; a click shows it full size.
 * @param {FileInfo} file
 * @param {string} url
 */
function picture(file, url) {
  const link = el('a', 'picture loading');
  link.href = url;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  const image = el('img');
  image.alt = file.name;
  image.decoding = 'async';
  image.draggable = false;
  // Until it has loaded, the link keeps a fixed size, so nothing moves; then
  // the view keeps its place (or its bottom) as the picture takes its own.
  image.addEventListener('load', () => settle(link), { once: true });
  image.addEventListener('error', () => {
    link.classList.remove('loading');
    link.classList.add('broken');
  }, { once: true });
  image.src = url;
  link.append(image);
  link.addEventListener('click', (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
      // "Open in a new tab": in the desktop window, the system's browser.
      if (desktop.openExternal(url)) event.preventDefault();
      return;
    }
    event.preventDefault();
    openLightbox(file, url, link);
  });
  return link;
}

/**
 * A picture has loaded: it takes its size without moving what the reader looks at.
 * @param {HTMLElement} link
 */
function settle(link) {
  if (!link.isConnected) {
    link.classList.remove('loading');
    return;
  }
  // The log of the conversation the picture is in.
  const log = link.closest('.log');
  if (!(log instanceof HTMLElement)) {
    link.classList.remove('loading');
    return;
  }
  const wasAtBottom = atBottom(log);
  const before = link.getBoundingClientRect();
  const above = before.bottom <= log.getBoundingClientRect().top;
  link.classList.remove('loading');
  if (wasAtBottom) {
    log.scrollTop = log.scrollHeight;
  } else if (above) {
    log.scrollTop += link.getBoundingClientRect().height - before.height;
  }
}

/**
 * A link that downloads the file, with its name and size. Without a usable
 * address, the name and size alone.
 * @param {FileInfo} file
 * @param {string | null} url
 */
function download(file, url) {
  const node = url ? el('a', 'download') : el('span', 'download');
  if (node instanceof HTMLAnchorElement && url) {
    node.href = url;
    node.download = file.name;
    node.rel = 'noopener noreferrer';
    node.addEventListener('click', (event) => {
      // In the desktop window the system's browser fetches it, not the window.
      if (desktop.openExternal(url)) event.preventDefault();
    });
  }
  const icon = el('span', 'download-icon', '⤓');
  icon.setAttribute('aria-hidden', 'true');
  node.append(icon, el('span', 'download-name', file.name), el('span', 'download-size', formatSize(file.size)));
  return node;
}

// ---------------------------------------------------------------- lightbox

/** @type {HTMLElement | null} what had focus before the lightbox opened */
let returnTo = null;

/** Wires the lightbox's buttons. */
export function mount() {
  const dialog = /** @type {HTMLDialogElement} */ (byId('image-dialog'));
  byId('image-close').addEventListener('click', () => dialog.close());
  byId('image-open').addEventListener('click', (event) => {
    if (desktop.openExternal(/** @type {HTMLAnchorElement} */ (byId('image-open')).href)) event.preventDefault();
  });
  // A click on the backdrop (the dialog itself, outside its content) closes it.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    /** @type {HTMLImageElement} */ (byId('image-full')).removeAttribute('src');
    if (returnTo?.isConnected) returnTo.focus();
    returnTo = null;
  });
}

/**
 * Shows a picture full size.
 * @param {FileInfo} file
 * @param {string} url
 * @param {HTMLElement} from
 */
function openLightbox(file, url, from) {
  const dialog = /** @type {HTMLDialogElement} */ (byId('image-dialog'));
  const image = /** @type {HTMLImageElement} */ (byId('image-full'));
  const open = /** @type {HTMLAnchorElement} */ (byId('image-open'));
  byId('image-title').textContent = file.name;
  byId('image-size').textContent = formatSize(file.size);
  image.alt = file.name;
  image.src = url;
  open.href = url;
  returnTo = from;
  if (!dialog.open) dialog.showModal();
  byId('image-close').focus();
}

/** Whether the lightbox has the page. */
export function lightboxOpen() {
  return /** @type {HTMLDialogElement} */ (byId('image-dialog')).open;
}
