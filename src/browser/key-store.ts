/**
 * What the dialog keeps on a person's own computer (never when they say it is not theirs):
 * - per address, the user key and its certificate, in IndexedDB. The private key is a non-extractable
 *   CryptoKey, so even a script running on our origin can use it but never read it out (the original kept
 *   the secret key as JSON in localStorage);
 * - per site, the address last used there (localStorage), to preselect it next time.
 * Storage may be unavailable (private windows, disabled storage): everything here then degrades to
 * "nothing kept", never to an error.
 */

export interface StoredKey {
  readonly email: string;
  readonly privateKey: CryptoKey;
  readonly certificate: string;
}

const DB_NAME = 'persona';
const STORE = 'keys';
const SITES_KEY = 'persona.sites';
const SHARED_KEY = 'persona.shared';

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => {
      resolve(request.result);
    };
    request.onerror = () => {
      reject(request.error ?? new Error('IndexedDB request failed'));
    };
  });
}

let opened: Promise<IDBDatabase | undefined> | undefined;
function database(): Promise<IDBDatabase | undefined> {
  opened ??= (async () => {
    try {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(STORE, { keyPath: 'email' });
      };
      return await promised(request);
    } catch {
      return undefined;
    }
  })();
  return opened;
}

async function inStore<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest<T>) {
  const db = await database();
  if (db === undefined) return undefined;
  try {
    return await promised(use(db.transaction(STORE, mode).objectStore(STORE)));
  } catch {
    return undefined;
  }
}

const isStoredKey = (value: unknown): value is StoredKey => {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.email === 'string' &&
    record.privateKey instanceof CryptoKey &&
    typeof record.certificate === 'string'
  );
};

export async function storedKey(email: string): Promise<StoredKey | undefined> {
  const found: unknown = await inStore('readonly', (store) => store.get(email.toLowerCase()));
  return isStoredKey(found) ? found : undefined;
}

export async function keepKey(key: StoredKey): Promise<void> {
  await inStore('readwrite', (store) => store.put({ ...key, email: key.email.toLowerCase() }));
}

function readSites(): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(SITES_KEY) ?? '{}');
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** The address last used on `site`, if any. */
export function lastUsedOn(site: string): string | undefined {
  const email = readSites()[site];
  return typeof email === 'string' ? email : undefined;
}

export function rememberUse(site: string, email: string): void {
  try {
    localStorage.setItem(SITES_KEY, JSON.stringify({ ...readSites(), [site]: email }));
  } catch {
    // storage full or disabled: nothing kept
  }
}

/** Whether the person said, at their last sign-in here, that this is not their computer. */
export function sharedComputer(): boolean {
  try {
    return localStorage.getItem(SHARED_KEY) === '1';
  } catch {
    return true;
  }
}

export function setSharedComputer(shared: boolean): void {
  try {
    if (shared) localStorage.setItem(SHARED_KEY, '1');
    else localStorage.removeItem(SHARED_KEY);
  } catch {
    // nothing kept
  }
}

/** Signing out of Persona forgets every key and every site. */
export async function forgetEverything(): Promise<void> {
  try {
    localStorage.removeItem(SITES_KEY);
  } catch {
    // nothing kept
  }
  await inStore('readwrite', (store) => store.clear());
}
