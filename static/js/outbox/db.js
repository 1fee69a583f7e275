// The outbox database: schema, version, and the one way to run a transaction.
// Health data: every write asks for strict durability (on disk before the promise resolves).
export const DB_NAME = "skinlog";
export const DB_VERSION = 1;
export const OUTBOX = "outbox"; // one item per entry or session to upload, key: auto-increment seq
export const META = "meta"; // small facts: last_sync, auth_needed

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
    db.createObjectStore(META, { keyPath: "key" });
  }
}

let opening = null;

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
      request.onsuccess = () => {
        const db = request.result;
        // Another tab upgrading or deleting: let go, reopen next time.
        db.onversionchange = () => { db.close(); opening = null; };
        db.onclose = () => { opening = null; };
        resolve(db);
      };
      request.onerror = () => { opening = null; reject(request.error); };
      request.onblocked = () => { opening = null; reject(new Error("database blocked")); };
    });
  }
  return opening;
}

// Run `work(stores)` in one transaction; resolves with its result once the transaction completes.
// Never await the network inside `work`: a transaction closes when it has nothing to do.
export async function withStores(names, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode, mode === "readwrite" ? { durability: "strict" } : {});
    const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]));
    let result;
    Promise.resolve(work(stores)).then((value) => { result = value; }, (error) => {
      tx.abort();
      reject(error);
    });
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

export function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
