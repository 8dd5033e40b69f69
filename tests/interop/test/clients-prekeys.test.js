'use strict';
// Client registration through @wireapp/core (Account.login + registerClient + initClient, with the
// legacy Cryptobox generating the proteus identity and prekeys), then prekey bundles fetched by
// another user through api-client: each fetch consumes one prekey, then the last-resort key
// 65535 comes back every time.
const test = require('node:test');
const assert = require('node:assert/strict');
const {Account} = require('@wireapp/core');
const proteus = require('@wireapp/proteus');
const {
  ClientType,
  DOMAIN,
  MAX_API_VERSION,
  MIN_API_VERSION,
  Recorder,
  User,
  loginUser,
  registerUser,
} = require('../lib/wire.cjs');

// Small, so exhausting them takes few requests. Cryptobox counts the last-resort key in this
// number: the client uploads NB_PREKEYS - 1 regular prekeys.
const NB_PREKEYS = 4;
const LAST_RESORT = 65535;
const T = {timeout: 30_000};

/** Deserialises a prekey {id, key} as proteus would and checks it belongs to the expected identity. */
function checkBundle(prekey, fingerprint, what) {
  assert.ok(prekey && typeof prekey === 'object', `${what}: a prekey object`);
  assert.ok(Number.isInteger(prekey.id), `${what}: integer id`);
  assert.equal(typeof prekey.key, 'string', `${what}: base64 key`);
  const bytes = Buffer.from(prekey.key, 'base64');
  const bundle = proteus.keys.PreKeyBundle.deserialise(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  assert.equal(bundle.prekey_id, prekey.id, `${what}: the bundle's own prekey id matches the id served with it`);
  assert.equal(bundle.identity_key.fingerprint(), fingerprint, `${what}: bundle signed by the client's identity`);
  return prekey.id;
}

test.describe('clients and prekeys', () => {
  const state = {};

  test.before(async () => {
    await proteus.init();
    const alice = await registerUser('core-alice');
    const bob = await registerUser('core-bob');
    state.aliceIdentity = alice.identity;
    state.aliceId = alice.context.userId;
    state.bob = await loginUser('core-bob-login', bob.identity);
  });

  test.it('core Account logs in and registers a permanent client with prekeys', T, async () => {
    const alice = new User('core-alice-account', state.aliceIdentity);
    const account = new Account(alice.api, {nbPrekeys: NB_PREKEYS, coreCryptoConfig: {wasmFilePath: '', enabled: false}});
    const loginData = {email: alice.identity.email, password: alice.identity.password, clientType: ClientType.PERMANENT};
    const client = await alice.act(async () => {
      await account.useAPIVersion(MIN_API_VERSION, MAX_API_VERSION);
      await account.login(loginData);
      const registered = await account.registerClient(loginData, true);
      await account.initClient(registered);
      return registered;
    });
    const {recorder} = alice;
    const trace = recorder.trace(40);

    assert.match(client.id, /^[1-9a-f][0-9a-f]{0,15}$/, `client id is canonical lowercase hex\n${trace}`);
    assert.equal(client.type, 'permanent');
    assert.equal(client.class, 'desktop');
    if (client.capabilities !== undefined) {
      assert.ok(Array.isArray(client.capabilities), 'capabilities is a plain array (v7+)');
    }
    assert.equal(account.clientId, client.id);

    // core's sequence after POST /clients.
    const order = [
      /^POST \/v8\/clients -> 201/,
      new RegExp(`^GET /v8/notifications/last\\?client=${client.id} -> 200`),
      /^GET \/v8\/clients -> 200/,
      new RegExp(`^POST /access\\?client_id=${client.id} -> 200`),
      new RegExp(`^GET /v8/clients/${client.id}/prekeys -> 200`),
    ];
    let at = 0;
    for (const re of order) {
      const found = recorder.entries.findIndex((e, i) => i >= at && re.test(`${e.request} -> ${e.status}`));
      assert.ok(found >= 0, `expected ${re} after request #${at}\n${trace}`);
      at = found + 1;
    }

    // The client the server stored is the one core created.
    const listed = await alice.act(api => api.api.client.getClients());
    assert.ok(listed.some(c => c.id === client.id), `GET /clients lists the new client\n${recorder.trace()}`);
    // What core uploaded in POST /clients.
    const posted = Recorder.requestJson(recorder.find(/^POST \/v8\/clients$/));
    assert.ok(posted, 'recorded the POST /clients body');
    assert.equal(posted.lastkey?.id, LAST_RESORT, 'core sends the last-resort key as lastkey');
    const uploadedIds = posted.prekeys.map(p => p.id);
    assert.ok(uploadedIds.length >= 2, `core uploaded regular prekeys: ${uploadedIds}`);

    const remaining = await alice.act(api => api.api.client.getClientPreKeys(client.id));
    assert.deepEqual(
      [...remaining].sort((a, b) => a - b),
      [...uploadedIds, LAST_RESORT].sort((a, b) => a - b),
      'GET /clients/{id}/prekeys lists every uploaded prekey id plus the last resort',
    );

    state.alice = alice;
    state.account = account;
    state.client = client;
    state.uploadedIds = uploadedIds;
    state.fingerprint = await account.service.proteus.getLocalFingerprint();
  });

  test.it("another user sees the client in the user's client list", T, async () => {
    const {bob, client, aliceId} = state;
    assert.ok(client, 'needs the registered client');
    const clients = await bob.act(api => api.api.user.getClients({id: aliceId, domain: DOMAIN}));
    assert.ok(Array.isArray(clients), 'GET /users/{d}/{u}/clients answers an array');
    assert.ok(
      clients.some(c => c.id === client.id && c.class === 'desktop'),
      `client ${client.id} listed: ${JSON.stringify(clients)}`,
    );
    const listed = await bob.act(api => api.api.user.postListClients({qualified_users: [{id: aliceId, domain: DOMAIN}]}));
    const entry = listed.qualified_user_map?.[DOMAIN]?.[aliceId];
    assert.ok(entry?.some(c => c.id === client.id), `POST /users/list-clients: ${JSON.stringify(listed)}`);
  });

  test.it('each prekey fetch hands out a different prekey, then the last resort 65535 repeatedly', T, async () => {
    const {bob, client, aliceId, fingerprint, uploadedIds} = state;
    assert.ok(client, 'needs the registered client');
    const qid = {id: aliceId, domain: DOMAIN};
    const seen = [];

    // Three ways to claim a prekey, used in turn until every uploaded prekey is handed out:
    // POST /users/list-prekeys (core's session setup), GET /users/{d}/{u}/prekeys/{c},
    // GET /users/{d}/{u}/prekeys.
    const claims = [
      async () => {
        const multi = await bob.act(api => api.api.user.postMultiPreKeyBundles({[DOMAIN]: {[aliceId]: [client.id]}}));
        return checkBundle(multi.qualified_user_client_prekeys?.[DOMAIN]?.[aliceId]?.[client.id], fingerprint, 'list-prekeys');
      },
      async () => {
        const single = await bob.act(api => api.api.user.getClientPreKey(qid, client.id));
        assert.equal(single.client, client.id, 'the answer names the client');
        return checkBundle(single.prekey, fingerprint, 'prekeys/{client}');
      },
      async () => {
        const bundle = await bob.act(api => api.api.user.getUserPreKeys(qid));
        assert.ok(Array.isArray(bundle.clients), 'clients is an array');
        const mine = bundle.clients.find(c => c.client === client.id);
        assert.ok(mine, `user prekey bundle contains the client: ${JSON.stringify(bundle)}`);
        return checkBundle(mine.prekey, fingerprint, 'prekeys (user)');
      },
    ];
    for (let i = 0; i < uploadedIds.length; i++) seen.push(await claims[i % claims.length]());

    assert.equal(new Set(seen).size, seen.length, `every fetch handed out a different prekey: ${seen}`);
    assert.deepEqual([...seen].sort((a, b) => a - b), [...uploadedIds].sort((a, b) => a - b), 'exactly the uploaded prekeys');

    // All are used up: the last resort comes back, every time, through both endpoints.
    for (let i = 0; i < 3; i++) {
      const again = await bob.act(api => api.api.user.postMultiPreKeyBundles({[DOMAIN]: {[aliceId]: [client.id]}}));
      const prekey = again.qualified_user_client_prekeys?.[DOMAIN]?.[aliceId]?.[client.id];
      assert.equal(checkBundle(prekey, fingerprint, `exhausted list-prekeys #${i}`), LAST_RESORT);
      const one = await bob.act(api => api.api.user.getClientPreKey(qid, client.id));
      assert.equal(checkBundle(one.prekey, fingerprint, `exhausted prekeys/{client} #${i}`), LAST_RESORT);
    }

    const left = await state.alice.act(api => api.api.client.getClientPreKeys(client.id));
    assert.deepEqual(left, [LAST_RESORT], 'only the last resort is left');
  });

  test.it('a second device of the same user registers through core too (password re-auth)', T, async () => {
    const {client} = state;
    assert.ok(client, 'needs the first client');
    const device = new User('core-alice-device2', state.aliceIdentity);
    const account = new Account(device.api, {nbPrekeys: NB_PREKEYS, coreCryptoConfig: {wasmFilePath: '', enabled: false}});
    const loginData = {email: device.identity.email, password: device.identity.password, clientType: ClientType.PERMANENT};
    const second = await device.act(async () => {
      await account.useAPIVersion(MIN_API_VERSION, MAX_API_VERSION);
      await account.login(loginData);
      const registered = await account.registerClient(loginData, true);
      await account.initClient(registered);
      return registered;
    });
    assert.notEqual(second.id, client.id, 'a new client id');
    const posted = Recorder.requestJson(device.recorder.find(/^POST \/v8\/clients$/));
    assert.equal(posted?.password, device.identity.password, 'core sent the password with the second client');
    const ids = (await device.act(api => api.api.client.getClients())).map(c => c.id).sort();
    assert.deepEqual(ids, [client.id, second.id].sort(), 'GET /clients lists both devices');
  });

  test.it('list-prekeys answers null for an unknown client', T, async () => {
    const {bob, aliceId} = state;
    const answer = await bob.act(api => api.api.user.postMultiPreKeyBundles({[DOMAIN]: {[aliceId]: ['abcdef12345']}}));
    const value = answer.qualified_user_client_prekeys?.[DOMAIN]?.[aliceId]?.abcdef12345;
    assert.equal(value, null, `unknown client -> null: ${JSON.stringify(answer)}`);
  });
});
