'use strict';
// Preloaded into every test process (`node --require ./lib/setup.cjs`). It gives Node the browser
// pieces @wireapp/core 46.35.4 expects:
//  - indexedDB (core's encrypted store and CoreDB use `idb`): fake-indexeddb, in memory;
//  - localStorage: a small in-memory Storage;
//  - a resolve hook for `@wireapp/core-crypto`, whose package.json `main` names an unpublished
//    TypeScript file; core require()s it at load time even with core-crypto disabled, so map it to
//    the published ESM entry (Node 20 can require() ESM).
// TLS: the runner sets NODE_TLS_REJECT_UNAUTHORIZED=0 for wireboxd's self-signed certificate.

require('fake-indexeddb/auto');

const path = require('node:path');
const Module = require('node:module');

class MemoryStorage {
  #items = new Map();
  get length() {
    return this.#items.size;
  }
  key(index) {
    return [...this.#items.keys()][index] ?? null;
  }
  getItem(key) {
    const k = String(key);
    return this.#items.has(k) ? this.#items.get(k) : null;
  }
  setItem(key, value) {
    this.#items.set(String(key), String(value));
  }
  removeItem(key) {
    this.#items.delete(String(key));
  }
  clear() {
    this.#items.clear();
  }
}

if (typeof globalThis.localStorage === 'undefined') {
  Object.defineProperty(globalThis, 'localStorage', {value: new MemoryStorage(), configurable: true, writable: true});
}
if (typeof globalThis.sessionStorage === 'undefined') {
  Object.defineProperty(globalThis, 'sessionStorage', {value: new MemoryStorage(), configurable: true, writable: true});
}

const CORE_CRYPTO = '@wireapp/core-crypto';
let coreCryptoEntry;
const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolveWithCoreCrypto(request, parent, isMain, options) {
  if (request === CORE_CRYPTO) {
    if (!coreCryptoEntry) {
      const pkgJson = originalResolve.call(this, `${CORE_CRYPTO}/package.json`, parent, isMain, options);
      coreCryptoEntry = path.join(path.dirname(pkgJson), 'src', 'corecrypto.js');
    }
    return coreCryptoEntry;
  }
  return originalResolve.call(this, request, parent, isMain, options);
};
