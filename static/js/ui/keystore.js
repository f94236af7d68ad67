// The browser's certificate store ("브라우저" storage in the 인증서 선택창).
//
// One IndexedDB database, "certbank-npki", with one object store,
// "certificates", keyed by the certificate's serial number in lower-case hex
// (the same form the server uses). Each record keeps exactly the two NPKI
// files: signCert.der (DER X.509) and signPri.key (the password-encrypted
// PKCS#8 from npki.js), so exporting a stored certificate gives back the very
// bytes a Korean NPKI tool reads. Nothing in here is ever decrypted: the key
// file stays encrypted at rest and is only opened with the password, in
// memory, by certwindow.js.
//
// Records: {serial, certificateDer: Uint8Array, keyFile: Uint8Array, savedAt: Date}.

const DB_NAME = "certbank-npki";
const DB_VERSION = 1;
const STORE = "certificates";

let dbPromise = null;

function requestResult(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openDatabase() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    if (!("indexedDB" in globalThis)) {
      reject(new Error("이 브라우저는 인증서 저장소(IndexedDB)를 지원하지 않습니다."));
      return;
    }
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "serial" });
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab upgrading the database: let it, and reopen next time.
      db.onversionchange = () => {
        db.close();
        dbPromise = null;
      };
      resolve(db);
    };
    request.onerror = () => {
      dbPromise = null;
      reject(request.error);
    };
    request.onblocked = () => {
      dbPromise = null;
      reject(new Error("인증서 저장소가 다른 창에서 사용 중입니다. 다른 창을 닫고 다시 시도해 주세요."));
    };
  });
  return dbPromise;
}

async function withStore(mode, action) {
  const db = await openDatabase();
  const transaction = db.transaction(STORE, mode);
  const done = new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
  });
  const result = await requestResult(action(transaction.objectStore(STORE)));
  await done;
  return result;
}

function bytes(data, what) {
  if (data instanceof Uint8Array) return new Uint8Array(data); // a copy, not a view into a bigger buffer
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  throw new TypeError(`keystore: ${what} must be a Uint8Array`);
}

function normaliseSerial(serial) {
  const hex = String(serial ?? "").trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) throw new TypeError("keystore: serial must be a hex string");
  return hex;
}

function fromRecord(record) {
  if (!record) return null;
  return {
    serial: record.serial,
    certificateDer: new Uint8Array(record.certificateDer),
    keyFile: new Uint8Array(record.keyFile),
    savedAt: record.savedAt,
  };
}

/** Every stored certificate, oldest first. */
export async function listCertificates() {
  const records = await withStore("readonly", (store) => store.getAll());
  return records.map(fromRecord).sort((a, b) => (a.savedAt ?? 0) - (b.savedAt ?? 0));
}

/** Store (or replace) a certificate and its encrypted key file, keyed by serial. */
export async function saveCertificate({ serial, certificateDer, keyFile }) {
  const record = {
    serial: normaliseSerial(serial),
    certificateDer: bytes(certificateDer, "certificateDer"),
    keyFile: bytes(keyFile, "keyFile"),
    savedAt: new Date(),
  };
  await withStore("readwrite", (store) => store.put(record));
  return fromRecord(record);
}

/** One stored certificate, or null. */
export async function getCertificate(serial) {
  return fromRecord(await withStore("readonly", (store) => store.get(normaliseSerial(serial))));
}

/** Remove a certificate from this browser (the certificate itself stays valid at the CA). */
export async function deleteCertificate(serial) {
  await withStore("readwrite", (store) => store.delete(normaliseSerial(serial)));
}
