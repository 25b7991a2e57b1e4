// The user's Ed25519 identity, made with WebCrypto and kept in IndexedDB.
// The private key is stored as a non-extractable CryptoKey: page scripts can
// sign with it but nobody can read it out. One key per browser profile and
// origin; the same key always gets the same user id on a server.

const DB_NAME = "voip";
const STORE = "identity";
const KEY_ID = "ed25519";

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const req = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(req.result);
    t.onerror = () => reject(t.error);
  });
}

export async function loadOrCreateIdentity() {
  if (!crypto.subtle) throw new Error("this page is not a secure context (use https:// or localhost)");
  const db = await openDb();
  let stored = await tx(db, "readonly", (s) => s.get(KEY_ID));
  if (!stored) {
    let pair;
    try {
      pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    } catch (e) {
      throw new Error(`this browser cannot make Ed25519 keys (${e.message}); use a current Chromium or Firefox`);
    }
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    stored = { privateKey: pair.privateKey, publicKey };
    await tx(db, "readwrite", (s) => s.put(stored, KEY_ID));
  }
  db.close();
  return {
    publicKey: new Uint8Array(stored.publicKey),
    sign: async (data) =>
      new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, stored.privateKey, data)),
  };
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
