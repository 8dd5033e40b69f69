'use strict';
// Helpers shared by the interop tests: an APIClient configured for the wireboxd under test, a
// per-client request recorder (shown in failure messages, and a guard against request storms),
// per-user zuid cookie swapping, and unique test identities.

const crypto = require('node:crypto');
const zlib = require('node:zlib');
const {APIClient} = require('@wireapp/api-client');
const {CookieStore} = require('@wireapp/api-client/lib/auth/CookieStore');

const REST_URL = process.env.WIREBOX_URL;
const WS_URL = process.env.WIREBOX_WS_URL;
const DOMAIN = process.env.WIREBOX_DOMAIN || 'wirebox.localhost';
if (!REST_URL || !WS_URL) {
  throw new Error('WIREBOX_URL / WIREBOX_WS_URL are not set: run these tests through tests/interop/run');
}

// The highest API version api-client 27.84.0 knows, and the lowest it accepts.
const MIN_API_VERSION = 1;
const MAX_API_VERSION = 8;

// api-client retries a 401 without limit and network errors forever; a server bug then shows up
// as thousands of requests. Stop a client after this many and say so.
const REQUEST_LIMIT = 400;

function backend() {
  return {name: 'wirebox', rest: REST_URL, ws: WS_URL};
}

function describeConfig(config) {
  const base = config.baseURL && !/^https?:/.test(config.url || '') ? new URL(config.baseURL).pathname : '';
  let url = `${base === '/' ? '' : base}${config.url || ''}`;
  if (config.params && Object.keys(config.params).length) {
    url += `?${new URLSearchParams(config.params).toString()}`;
  }
  return `${String(config.method || 'get').toUpperCase()} ${url}`;
}

function summarizeBody(data) {
  if (data === undefined || data === null || data === '') return '';
  let text;
  if (typeof data === 'string') text = data;
  else if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return ` <${data.byteLength} bytes>`;
  else {
    try {
      text = JSON.stringify(data);
    } catch {
      text = String(data);
    }
  }
  return ` ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
}

/** Records every request an APIClient makes: "POST /v8/login -> 403 {...}". */
class Recorder {
  constructor(label) {
    this.label = label;
    this.entries = [];
    this.count = 0;
  }

  attach(apiClient) {
    const axios = apiClient.transport.http.client;
    axios.interceptors.request.use(config => {
      this.count++;
      if (this.count > REQUEST_LIMIT) {
        throw new Error(
          `${this.label}: more than ${REQUEST_LIMIT} requests from one client; the server keeps answering ` +
            `in a way the client retries (e.g. 401 on a fresh token or on /access)\n${this.trace()}`,
        );
      }
      config.wireboxEntry = {request: describeConfig(config), status: '…', config};
      this.entries.push(config.wireboxEntry);
      return config;
    });
    axios.interceptors.response.use(
      response => {
        const entry = response.config?.wireboxEntry;
        if (entry) entry.status = `${response.status}${summarizeBody(response.data)}`;
        return response;
      },
      error => {
        const entry = error.config?.wireboxEntry;
        if (entry) {
          entry.status = error.response
            ? `${error.response.status}${summarizeBody(error.response.data)}`
            : `network error: ${error.code || error.message}`;
        }
        return Promise.reject(error);
      },
    );
    return this;
  }

  /** The JSON body of a recorded request (gunzipped as needed), or undefined. */
  static requestJson(entry) {
    let data = entry?.config?.data;
    if (data === undefined || data === null) return undefined;
    try {
      if (typeof data !== 'string') {
        let bytes = Buffer.from(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength);
        const encoding = String(entry.config.headers?.['Content-Encoding'] ?? entry.config.headers?.['content-encoding'] ?? '');
        if (encoding === 'gzip') bytes = zlib.gunzipSync(bytes);
        data = bytes.toString('utf8');
      }
      return JSON.parse(data);
    } catch {
      return undefined;
    }
  }

  /** The first recorded entry whose "METHOD /path" matches re. */
  find(re) {
    return this.entries.find(e => re.test(e.request));
  }

  trace(last = 25) {
    const shown = this.entries.slice(-last);
    const skipped = this.entries.length - shown.length;
    const lines = shown.map(e => `    ${e.request} -> ${e.status}`);
    if (skipped > 0) lines.unshift(`    … ${skipped} earlier requests`);
    return `  requests of ${this.label}:\n${lines.join('\n') || '    (none)'}`;
  }
}

/** An APIClient pointed at the wireboxd under test, with a Recorder attached. */
function createApiClient(label = 'client') {
  const apiClient = new APIClient({urls: backend()});
  apiClient.recorder = new Recorder(label).attach(apiClient);
  return apiClient;
}

/** Runs fn; if it throws, appends the recorded requests of the given clients to the error. */
async function traced(recorders, fn) {
  try {
    return await fn();
  } catch (error) {
    const list = (Array.isArray(recorders) ? recorders : [recorders]).filter(Boolean);
    const traces = list.map(r => (r.recorder || r).trace()).join('\n');
    if (error && typeof error === 'object') {
      const detail = describeError(error);
      try {
        error.message = `${detail}\n${traces}`;
      } catch {
        throw new Error(`${detail}\n${traces}`, {cause: error});
      }
      throw error;
    }
    throw new Error(`${String(error)}\n${traces}`);
  }
}

/** A readable one-liner for api-client's BackendError subclasses and axios errors. */
function describeError(error) {
  const name = error.constructor?.name || 'Error';
  const parts = [`${name}: ${error.message}`];
  if (error.code !== undefined && error.label !== undefined) parts.push(`(code ${error.code}, label ${error.label})`);
  if (error.response) parts.push(`(HTTP ${error.response.status} ${summarizeBody(error.response.data).trim()})`);
  return parts.join(' ');
}

let counter = 0;
/** A fresh identity; random so that files running in parallel never collide. */
function newIdentity(prefix = 'user') {
  counter++;
  const tag = `${prefix}${counter}-${crypto.randomBytes(5).toString('hex')}`;
  return {
    name: `Interop ${tag}`,
    email: `${tag}@interop.wirebox.localhost`,
    password: `pw-${crypto.randomBytes(12).toString('base64url')}`,
    handle: `h${crypto.randomBytes(7).toString('hex')}`,
  };
}

/**
 * api-client keeps the zuid cookie in one process-wide static CookieStore. A test acting as
 * several users runs each user's calls through `act`, which puts that user's cookie in the store
 * and takes the (possibly new) cookie back out afterwards. Never interleave two users' `act`s.
 */
class User {
  constructor(label, identity = newIdentity(label)) {
    this.label = label;
    this.identity = identity;
    this.api = createApiClient(label);
    this.cookie = undefined;
  }

  get recorder() {
    return this.api.recorder;
  }

  async act(fn) {
    CookieStore.cookie = this.cookie;
    try {
      return await traced(this.recorder, () => fn(this.api));
    } finally {
      this.cookie = CookieStore.getCookie();
    }
  }
}

module.exports = {
  APIClient,
  CookieStore,
  DOMAIN,
  MAX_API_VERSION,
  MIN_API_VERSION,
  REST_URL,
  Recorder,
  User,
  WS_URL,
  backend,
  createApiClient,
  describeError,
  newIdentity,
  traced,
};

// ---- user lifecycle helpers ------------------------------------------------------------------

const {ClientType} = require('@wireapp/api-client/lib/client/');

/** POST /register through APIClient.register (as the webapp's sign-up does); returns the User. */
async function registerUser(label, identity = newIdentity(label)) {
  const user = new User(label, identity);
  user.context = await user.act(async api => {
    await api.useVersion(MIN_API_VERSION, MAX_API_VERSION);
    return api.register(
      {name: identity.name, email: identity.email, password: identity.password},
      ClientType.PERMANENT,
    );
  });
  return user;
}

/** A new APIClient (own cookie) logged in as an existing identity with persist=true. */
async function loginUser(label, identity) {
  const user = new User(label, identity);
  user.context = await user.act(async api => {
    await api.useVersion(MIN_API_VERSION, MAX_API_VERSION);
    return api.login({email: identity.email, password: identity.password, clientType: ClientType.PERMANENT});
  });
  return user;
}

module.exports.ClientType = ClientType;
module.exports.registerUser = registerUser;
module.exports.loginUser = loginUser;
