// @ts-check
/**
 * Who this page is in the room: the name it joins under and the secret
 * that makes it the same person every time (both remembered in
 * localStorage), and, once joined, its user. The one owner of all three.
 *
 * A user's `id` is the connection (another tab is another id); its `uid`
 * is the person, derived by the server from the secret, so "my messages"
 * are mine across reconnects and restarts, and nobody who merely takes my
 * name can edit them.
 * @module identity
 */

/** @typedef {{id: number, uid?: string, name: string}} User */

const NAME_KEY = 'hearth.name';
const SECRET_KEY = 'hearth.key';

/** This browser's secret, sent with `hello` and never shown: 32 random bytes, base64url. */
const secret = loadSecret();

/** @type {User | null} */
let me = null;
/** @type {string | null} */
let wantedName = load(NAME_KEY);

/** The user this page joined as, or null while not joined. */
export function currentUser() {
  return me;
}

/** The name this page joins under next, if one was picked. */
export function wanted() {
  return wantedName;
}

/** @param {string} name the name to join under next */
export function want(name) {
  wantedName = name;
}

/**
 * Joined (or renamed) as `user`: remembered, name and all, for next time.
 * @param {User} user
 */
export function joinedAs(user) {
  me = user;
  wantedName = user.name;
  store(NAME_KEY, user.name);
}

/** The connection is gone: not joined any more (the name is kept). */
export function leave() {
  me = null;
}

/** The secret to send with `hello`. */
export function key() {
  return secret;
}

/**
 * Whether `user` is this page's connection (the people list, typing, the
 * echo of what this page sent).
 * @param {User} user
 */
export function isMe(user) {
  return me !== null && user.id === me.id;
}

/**
 * Whether `user` is the same person as me, on whatever connection: my
 * messages and reactions. A server without identities (no `uid`) leaves
 * only the connection to go by.
 * @param {User} user
 */
export function isSelf(user) {
  if (me === null) return false;
  if (me.uid !== undefined && user.uid !== undefined) return user.uid === me.uid;
  return user.id === me.id;
}

/** My name, or null while not joined. */
export function myName() {
  return me?.name ?? null;
}

/**
 * The secret kept in this browser, made on first use.
 * @returns {string}
 */
function loadSecret() {
  const kept = load(SECRET_KEY);
  if (kept && /^[A-Za-z0-9_-]{16,256}$/.test(kept)) return kept;
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  const made = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  store(SECRET_KEY, made);
  return made;
}

/**
 * @param {string} key
 * @returns {string | null}
 */
function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/**
 * @param {string} key
 * @param {string} value
 */
function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode or storage disabled: it lasts for this page only.
  }
}
