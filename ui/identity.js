// @ts-check
/**
 * Who this page is in the room: the name it joins under (remembered in
 * localStorage) and, once joined, its user. The one owner of both.
 * @module identity
 */

/** @typedef {{id: number, name: string}} User */

const NAME_KEY = 'hearth.name';

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

/**
 * Whether `user` is this page's user.
 * @param {User} user
 */
export function isMe(user) {
  return me !== null && user.id === me.id;
}

/** My name, or null while not joined. */
export function myName() {
  return me?.name ?? null;
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
