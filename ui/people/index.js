// @ts-check
/**
 * People: who is in a conversation and who is typing (people.js, one list
 * per conversation), my own name at the top of the page (me.js), and
 * picking or changing it (name-dialog.js).
 * @module people
 */

export { showMe } from './me.js';
export * as nameDialog from './name-dialog.js';
export { PeopleList } from './people.js';
