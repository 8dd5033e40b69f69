'use strict';
// Registration, login, token refresh, self, wrong password and logout, driven through
// @wireapp/api-client exactly as the webapp uses it.
const test = require('node:test');
const assert = require('node:assert/strict');
const {InvalidCredentialsError} = require('@wireapp/api-client/lib/auth/');
const {request, jsonBody, describeResponse} = require('../lib/raw.cjs');
const {
  ClientType,
  CookieStore,
  DOMAIN,
  MAX_API_VERSION,
  MIN_API_VERSION,
  User,
  createApiClient,
  loginUser,
  newIdentity,
  registerUser,
  traced,
} = require('../lib/wire.cjs');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const T = {timeout: 20_000};

/** Index of the first recorded request matching re at or after `from`, or -1. */
function findRequest(recorder, re, from = 0) {
  return recorder.entries.findIndex((e, i) => i >= from && re.test(`${e.request} -> ${e.status}`));
}

function assertTokenShape(token, userId) {
  assert.equal(typeof token.access_token, 'string');
  assert.ok(token.access_token.length > 0, 'access_token is not empty');
  assert.equal(token.token_type, 'Bearer');
  assert.equal(typeof token.expires_in, 'number', 'expires_in is a JSON number');
  assert.ok(token.expires_in > 0, 'expires_in is positive');
  if (userId) assert.equal(token.user, userId);
}

test.describe('registration and login', () => {
  const state = {};

  test.it('registers two users with APIClient.register', T, async () => {
    for (const label of ['alice', 'bob']) {
      const user = await registerUser(label);
      const {context, recorder} = user;
      assert.match(context.userId, UUID, 'context.userId is a UUID');
      assert.equal(context.domain, DOMAIN, 'context.domain comes from GET /self qualified_id.domain');
      assert.ok(user.cookie?.zuid, 'the zuid cookie from POST /register was stored');
      // The client's own sequence: register, GET /self without token -> 401, POST /access with
      // the cookie, then GET /self with the new token.
      const reg = findRequest(recorder, /^POST \/v8\/register -> 201/);
      assert.ok(reg >= 0, `POST /v8/register answered 201\n${recorder.trace()}`);
      const unauth = findRequest(recorder, /^GET \/v8\/self -> 401/, reg);
      assert.ok(unauth > reg, `GET /v8/self without a token answered 401\n${recorder.trace()}`);
      const access = findRequest(recorder, /^POST \/access -> 200/, unauth);
      assert.ok(access > unauth, `POST /access with the register cookie answered 200\n${recorder.trace()}`);
      assert.ok(findRequest(recorder, /^GET \/v8\/self -> 200/, access) > access, recorder.trace());
      state[label] = user;
    }
    assert.notEqual(state.alice.context.userId, state.bob.context.userId);
  });

  test.it('logs in with email and password (persist=true)', T, async () => {
    assert.ok(state.alice, 'needs the registered users');
    const alice = await loginUser('alice-login', state.alice.identity);
    const {recorder} = alice;
    assert.ok(
      findRequest(recorder, /^POST \/v8\/login\?persist=true -> 200/) >= 0,
      `POST /v8/login?persist=true answered 200\n${recorder.trace()}`,
    );
    assert.equal(alice.context.userId, state.alice.context.userId, 'login yields the registered user');
    assert.equal(alice.context.domain, DOMAIN);
    assert.ok(alice.cookie?.zuid, 'login set a zuid cookie');
    assert.notEqual(alice.cookie.zuid, state.alice.cookie.zuid, 'each login gets its own cookie');
    assertTokenShape(alice.api.transport.http.accessTokenStore.accessTokenData, state.alice.context.userId);
    state.aliceLogin = alice;
  });

  test.it('POST /access refreshes the access token from the cookie', T, async () => {
    const alice = state.aliceLogin;
    assert.ok(alice, 'needs the logged-in user');
    const before = alice.api.transport.http.accessTokenStore.accessTokenData;
    const refreshed = await alice.act(api => api.transport.http.refreshAccessToken());
    assertTokenShape(refreshed, state.alice.context.userId);
    assert.ok(
      findRequest(alice.recorder, /^POST \/access -> 200/) >= 0,
      `POST /access answered 200\n${alice.recorder.trace()}`,
    );
    assert.equal(alice.api.transport.http.accessTokenStore.accessTokenData.access_token, refreshed.access_token);
    // A refresh restarts the token lifetime rather than handing back the old token's remainder.
    assert.ok(refreshed.expires_in >= before.expires_in - 5, `expires_in ${refreshed.expires_in} vs ${before.expires_in}`);
    // The client now sends the refreshed token, and the server accepts it.
    const selfCall = alice.recorder.entries.length;
    const self = await alice.act(api => api.api.self.getSelf());
    assert.equal(self.id, state.alice.context.userId);
    const sent = alice.recorder.entries[selfCall]?.config?.headers?.Authorization;
    assert.equal(sent, `Bearer ${refreshed.access_token}`, 'GET /self carried the refreshed token');
  });

  test.it('GET /self returns the profile with a qualified id', T, async () => {
    const alice = state.aliceLogin;
    assert.ok(alice, 'needs the logged-in user');
    const self = await alice.act(api => api.api.self.getSelf());
    const {identity} = state.alice;
    assert.equal(self.id, state.alice.context.userId);
    assert.deepEqual(self.qualified_id, {id: state.alice.context.userId, domain: DOMAIN});
    assert.equal(self.name, identity.name);
    assert.equal(self.email, identity.email, 'self sees its own email');
    assert.equal(typeof self.accent_id, 'number', 'accent_id is a number');
    assert.ok(Array.isArray(self.assets), 'assets is an array');
    assert.equal(self.handle, undefined, 'no handle before one is set');

    // Bob's view of himself is his own profile, not Alice's.
    const bob = state.bob;
    const bobSelf = await bob.act(api => api.api.self.getSelf());
    assert.equal(bobSelf.id, bob.context.userId);
    assert.equal(bobSelf.name, bob.identity.name);
    assert.deepEqual(bobSelf.qualified_id, {id: bob.context.userId, domain: DOMAIN});
  });

  test.it('a second registration with the same email is refused (409 key-exists)', T, async () => {
    assert.ok(state.alice, 'needs the registered users');
    const dup = new User('alice-dup', {...newIdentity('dup'), email: state.alice.identity.email});
    const error = await dup
      .act(async api => {
        await api.useVersion(MIN_API_VERSION, MAX_API_VERSION);
        await api.register({name: dup.identity.name, email: dup.identity.email, password: dup.identity.password});
      })
      .then(
        () => assert.fail('POST /register with a taken email succeeded'),
        e => e,
      );
    assert.equal(error.code, 409, `${error.message}`);
    assert.equal(error.label, 'key-exists', `${error.message}`);
  });
});

test('a wrong password fails with InvalidCredentialsError (403 invalid-credentials "Authentication failed.")', T, async () => {
  const alice = await registerUser('pw-owner');
  const apiClient = createApiClient('wrong-password');
  let logoutEvents = 0;
  apiClient.on(apiClient.constructor.TOPIC.ON_LOGOUT, () => logoutEvents++);
  CookieStore.cookie = undefined;
  await apiClient.useVersion(MIN_API_VERSION, MAX_API_VERSION);
  const attempt = () =>
    apiClient.login({email: alice.identity.email, password: `${alice.identity.password}x`, clientType: ClientType.PERMANENT});
  const error = await attempt().then(
    () => assert.fail(`login with a wrong password succeeded\n${apiClient.recorder.trace()}`),
    e => e,
  );
  const trace = apiClient.recorder.trace();
  assert.ok(
    error instanceof InvalidCredentialsError,
    `expected InvalidCredentialsError, got ${error.constructor.name}: ${error.message}\n${trace}`,
  );
  assert.equal(error.code, 403);
  assert.equal(error.label, 'invalid-credentials');
  const last = apiClient.recorder.entries.at(-1);
  assert.match(last.status, /^403 .*"message":"Authentication failed\."/, trace);
  assert.equal(logoutEvents, 0, 'a wrong password must not look like a revoked session');
  assert.equal(CookieStore.getCookie(), undefined, 'no cookie after a failed login');

  // An unknown email gives the same answer (no account enumeration).
  const unknown = await apiClient
    .login({email: newIdentity('nobody').email, password: 'whatever-password', clientType: ClientType.PERMANENT})
    .then(
      () => assert.fail('login with an unknown email succeeded'),
      e => e,
    );
  assert.ok(unknown instanceof InvalidCredentialsError, `got ${unknown.constructor.name}\n${apiClient.recorder.trace()}`);
});

test('logout revokes the cookie: a later POST /access with it fails with 403', T, async () => {
  const owner = await registerUser('logout-owner');
  const session = await loginUser('logout-session', owner.identity);
  const cookie = session.cookie;
  assert.ok(cookie?.zuid, 'login set a cookie');
  // The cookie works before the logout.
  await session.act(api => api.transport.http.refreshAccessToken());

  await session.act(api => api.logout());
  const logoutEntry = session.recorder.entries.find(e => e.request === 'POST /access/logout');
  assert.ok(logoutEntry, `the client sent POST /access/logout\n${session.recorder.trace()}`);
  assert.match(logoutEntry.status, /^200/, `POST /access/logout answered 200\n${session.recorder.trace()}`);

  // A fresh client presenting the revoked cookie cannot get a token.
  const replay = createApiClient('revoked-cookie');
  await replay.useVersion(MIN_API_VERSION, MAX_API_VERSION);
  CookieStore.cookie = cookie;
  const error = await replay.transport.http.refreshAccessToken().then(
    () => assert.fail(`POST /access with a revoked cookie succeeded\n${replay.recorder.trace()}`),
    e => e,
  );
  const trace = replay.recorder.trace();
  assert.equal(error.code, 403, `${error.constructor.name}: ${error.message}\n${trace}`);
  assert.equal(error.label, 'invalid-credentials', trace);
  const accessEntries = replay.recorder.entries.filter(e => e.request.startsWith('POST /access'));
  assert.equal(accessEntries.length, 1, `the client must not loop on the answer\n${trace}`);

  // The other session of the same user (the registration cookie) is unaffected.
  const other = await owner.act(api => api.transport.http.refreshAccessToken());
  assert.equal(other.user, owner.context.userId);
});

test('login sets exactly one cookie, zuid, HttpOnly and Secure; persist=true gives it an expiry', T, async () => {
  const owner = await registerUser('cookie-owner');
  const {email, password} = owner.identity;
  for (const persist of [true, false]) {
    const res = await request({
      method: 'POST',
      path: `/v8/login?persist=${persist}`,
      headers: {'content-type': 'application/json'},
      body: jsonBody({email, password}),
    });
    assert.equal(res.status, 200, describeResponse(res));
    // The Node client stores every Set-Cookie in order and keeps the last one, whatever its name.
    const cookies = res.headers['set-cookie'] || [];
    assert.equal(cookies.length, 1, `one Set-Cookie header: ${JSON.stringify(cookies)}`);
    const [pair, ...attrs] = cookies[0].split(';').map(p => p.trim());
    assert.match(pair, /^zuid=[^;\s]+$/, cookies[0]);
    const names = attrs.map(a => a.split('=')[0].toLowerCase());
    assert.ok(names.includes('httponly'), `HttpOnly: ${cookies[0]}`);
    assert.ok(names.includes('secure'), `Secure: ${cookies[0]}`);
    const expires = attrs.find(a => a.toLowerCase().startsWith('expires='));
    if (persist) {
      assert.ok(expires, `persist=true cookie has Expires: ${cookies[0]}`);
      const when = Date.parse(expires.slice('expires='.length));
      assert.ok(when > Date.now() + 24 * 3600 * 1000, `expires well in the future: ${expires}`);
    }
    // The cookie it set works on POST /access.
    const access = await request({
      method: 'POST',
      path: '/access',
      headers: {'content-type': 'application/x-www-form-urlencoded', cookie: pair},
    });
    assert.equal(access.status, 200, describeResponse(access));
    assert.equal(access.json?.user, owner.context.userId);
  }
});
