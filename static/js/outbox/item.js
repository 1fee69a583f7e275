// What an outbox item is: one entry, session or delete waiting on this phone to be uploaded.
// Written by form-queue.js and deletes.js, stored by queue.js, replayed by sync.js and replay.js,
// shown by status.js. Other modules name it with
//   /** @typedef {import("./item.js").OutboxItem} OutboxItem */
// No code: nothing loads this file at run time.

/**
 * @typedef {object} OutboxItem
 * @property {number} [seq] the outbox key (auto-increment), set when first stored: oldest first
 * @property {"entry"|"session"|"delete"} kind
 * @property {string} uuid the row's id on the server (an entry's may change to the day's
 *   existing entry when the server answers 409 date_taken)
 * @property {EntryBody|SessionBody|DeleteBody} body what is PUT (or, for a delete, its stamp)
 * @property {OutboxPhoto[]} [photos] an entry's photos to upload
 * @property {PhotoDelete[]} [photo_deletes] an entry's saved photos to delete
 * @property {boolean} [row_done] an entry: the server acknowledged the entry row itself (its
 *   photos may still wait); false again whenever the item is saved anew (sessions too: unread)
 * @property {string} account the account tag the item was saved under: another login's sync
 *   leaves it waiting
 * @property {number} rev bumped by every queue.put: a sync removes only the version it sent
 * @property {"waiting"|"rejected"} state
 * @property {Rejection|null} error why the server refused it (state "rejected")
 * @property {number} attempts failed tries in a row (network, 5xx…): the backoff's exponent
 * @property {number} next_attempt_at when to try again (ms since the epoch; 0: at once)
 * @property {"entries"|"sessions"} [target] a delete: which kind of row
 * @property {string} [label] a delete: what it deletes, for people ("the session of 19 Nov 2026")
 */

/**
 * A photo waiting to upload. Bytes as an ArrayBuffer, not a Blob: Safari cannot store Blobs.
 * @typedef {object} OutboxPhoto
 * @property {string} uuid
 * @property {string} area
 * @property {string} name
 * @property {string} type
 * @property {ArrayBuffer|null} data null once uploaded (the phone's space is freed)
 * @property {boolean} done
 */

/**
 * @typedef {object} PhotoDelete
 * @property {string} uuid
 * @property {boolean} done
 */

/**
 * @typedef {object} EntryBody
 * @property {string} date
 * @property {Object<string, number|string|null>} ratings
 * @property {number|string|null} pie_severity
 * @property {number|string|null} pih_severity
 * @property {string[]} red_flags
 * @property {string[]} aftercare
 * @property {string} notes
 * @property {string} client_updated_at
 */

/**
 * @typedef {object} SessionBody
 * @property {string} date
 * @property {string} device
 * @property {number|string|null} needle_depth_mm
 * @property {string[]} areas
 * @property {string[]} topicals
 * @property {string} setting
 * @property {string} provider
 * @property {string} notes
 * @property {string} client_updated_at
 */

/**
 * @typedef {object} DeleteBody
 * @property {string} client_updated_at when the delete was tapped
 */

/**
 * The server's reason for refusing an item (docs/api.md), as replay shows it.
 * @typedef {object} Rejection
 * @property {number} status
 * @property {string} what which part was refused ("The entry", "Photo (left cheek)"…)
 * @property {string} message
 * @property {string} code
 * @property {Object<string, string>} fields
 */

export {};
