'use strict';
// Requests the official clients never send, made with node:https directly: the server must
// answer each with the right status and, where there is a body, a Wire error JSON
// {code, label, message} (api-client only treats a response as a backend error when all three
// are present).
const test = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const {request, jsonBody, describeResponse} = require('../lib/raw.cjs');
const {DOMAIN, registerUser} = require('../lib/wire.cjs');

const T = {timeout: 20_000};
const JSON_TYPE = 'application/json;charset=UTF-8';

function assertWireError(res, status, label) {
  const what = describeResponse(res);
  assert.equal(res.status, status, what);
  assert.match(String(res.headers['content-type']), /^application\/json/, `JSON error body: ${what}`);
  assert.ok(res.json && typeof res.json === 'object', `parsable JSON: ${what}`);
  assert.equal(res.json.code, status, `code field equals the status: ${what}`);
  assert.equal(typeof res.json.label, 'string', what);
  assert.ok(res.json.label.length > 0, what);
  assert.equal(typeof res.json.message, 'string', what);
  assert.ok(res.json.message.length > 0, what);
  if (label) assert.equal(res.json.label, label, what);
}

test.describe('bad input over raw HTTPS, no user needed', () => {
  test.it('malformed JSON -> 400 with a Wire error body', T, async () => {
    const res = await request({
      method: 'POST',
      path: '/v8/login',
      headers: {'content-type': JSON_TYPE},
      body: '{"email": "a@b.c", "password": ',
    });
    assertWireError(res, 400);
  });

  test.it('a body over the limit -> 413 (announced by Content-Length, Expect: 100-continue)', T, async () => {
    // The client waits for "100 Continue" before sending, so the server can refuse on the headers.
    const big = Buffer.alloc(3 * 1024 * 1024, 0x20); // 3 MiB of spaces; the default limit is 1 MiB
    const res = await request({
      method: 'POST',
      path: '/v8/login',
      headers: {'content-type': JSON_TYPE},
      body: big,
      expectContinue: true,
    });
    assert.equal(res.status, 413, describeResponse(res));
  });

  test.it('a body over the limit -> 413, readable while the client is still sending', T, async () => {
    // api-client (axios) just sends the whole body. If the server answers 413 and closes the
    // socket while request bytes are still unread, the kernel sends a TCP RST and the client
    // sees ECONNRESET instead of the 413 (and axios-retry retries network errors forever).
    // RFC 9112 section 9.6: close in stages (half-close, keep reading for a while).
    const big = Buffer.alloc(8 * 1024 * 1024, 0x20);
    const res = await request({
      method: 'POST',
      path: '/v8/login',
      headers: {'content-type': JSON_TYPE},
      body: big,
    });
    assert.equal(res.status, 413, describeResponse(res));
  });

  test.it('a gzip body that inflates past the limit -> 413', T, async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20)); // ~8 KiB on the wire
    const res = await request({
      method: 'POST',
      path: '/v8/login',
      headers: {'content-type': JSON_TYPE, 'content-encoding': 'gzip'},
      body: bomb,
    });
    assert.equal(res.status, 413, describeResponse(res));
  });

  test.it('a corrupt gzip body -> 400', T, async () => {
    const res = await request({
      method: 'POST',
      path: '/v8/login',
      headers: {'content-type': JSON_TYPE, 'content-encoding': 'gzip'},
      body: Buffer.from('this is not gzip at all'),
    });
    assertWireError(res, 400);
  });

  test.it('no token -> 401 (never 403: the client only refreshes on 401)', T, async () => {
    const res = await request({path: '/v8/self'});
    assert.equal(res.status, 401, describeResponse(res));
  });

  test.it('POST /access without a cookie -> 403 invalid-credentials (never 401)', T, async () => {
    const res = await request({
      method: 'POST',
      path: '/access',
      headers: {'content-type': 'application/x-www-form-urlencoded'},
    });
    assertWireError(res, 403, 'invalid-credentials');
  });

  test.it('POST /access with a garbage cookie -> 403 invalid-credentials', T, async () => {
    const res = await request({
      method: 'POST',
      path: '/access',
      headers: {'content-type': 'application/x-www-form-urlencoded', cookie: 'zuid=not-a-real-cookie'},
    });
    assertWireError(res, 403, 'invalid-credentials');
  });

  test.it('a garbage bearer token -> 401', T, async () => {
    for (const token of ['garbage', 'a.b', 'Zm9v.YmFy', '']) {
      const res = await request({path: '/v8/self', headers: {authorization: `Bearer ${token}`}});
      assert.equal(res.status, 401, `token ${JSON.stringify(token)}: ${describeResponse(res)}`);
    }
  });
});

test.describe('bad input over raw HTTPS, as a registered user', () => {
  const state = {};

  test.before(async () => {
    const user = await registerUser('raw');
    state.user = user;
    state.token = user.api.transport.http.accessTokenStore.accessTokenData.access_token;
  });

  const auth = () => ({authorization: `Bearer ${state.token}`});

  test.it('the token from the client works for a plain request (control)', T, async () => {
    const res = await request({path: '/v8/self', headers: auth()});
    assert.equal(res.status, 200, describeResponse(res));
    assert.equal(res.json?.id, state.user.context.userId);
  });

  test.it('malformed JSON on an authenticated endpoint -> 400', T, async () => {
    const res = await request({
      method: 'PUT',
      path: '/v8/self',
      headers: {...auth(), 'content-type': JSON_TYPE},
      body: '{"name": [}',
    });
    assertWireError(res, 400);
  });

  test.it('a gzip-compressed JSON body is accepted (login)', T, async () => {
    const {email, password} = state.user.identity;
    const res = await request({
      method: 'POST',
      path: '/v8/login?persist=false',
      headers: {'content-type': JSON_TYPE, 'content-encoding': 'gzip'},
      body: jsonBody({email, password}, {gzip: true}),
    });
    assert.equal(res.status, 200, describeResponse(res));
    assert.equal(res.json?.user, state.user.context.userId);
    assert.equal(typeof res.json?.access_token, 'string');
  });

  test.it('a gzip-compressed JSON body is accepted (PUT /self)', T, async () => {
    const name = `Renamed ${Date.now()}`;
    const res = await request({
      method: 'PUT',
      path: '/v8/self',
      headers: {...auth(), 'content-type': JSON_TYPE, 'content-encoding': 'gzip'},
      body: jsonBody({name}, {gzip: true}),
    });
    assert.ok(res.status >= 200 && res.status < 300, describeResponse(res));
    const self = await request({path: '/v8/self', headers: auth()});
    assert.equal(self.json?.name, name, describeResponse(self));
  });

  test.it('a malformed UUID in a path -> 400 or 404, never 5xx', T, async () => {
    const res = await request({path: `/v8/users/${DOMAIN}/not-a-uuid`, headers: auth()});
    assert.ok(res.status === 400 || res.status === 404, describeResponse(res));
    assertWireError(res, res.status);
  });

  test.it('an unknown but well-formed user id -> 404', T, async () => {
    const res = await request({path: `/v8/users/${DOMAIN}/00000000-0000-4000-8000-000000000000`, headers: auth()});
    assertWireError(res, 404);
  });

  test.it('an unknown endpoint -> 404 with a Wire error body', T, async () => {
    const res = await request({path: '/v8/this-endpoint-does-not-exist', headers: auth()});
    assertWireError(res, 404);
  });

  test.it('a tampered or truncated real token -> 401', T, async () => {
    const tampered = state.token.slice(0, -2) + (state.token.endsWith('AA') ? 'BB' : 'AA');
    for (const token of [`${state.token}x`, state.token.slice(0, -4), tampered]) {
      const res = await request({path: '/v8/self', headers: {authorization: `Bearer ${token}`}});
      assert.equal(res.status, 401, `token ${JSON.stringify(token.slice(-12))}: ${describeResponse(res)}`);
    }
  });
});
