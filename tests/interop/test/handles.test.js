'use strict';
// Handles: PUT /self/handle, then HEAD /handles/{h} (v7+ path) from the owner and from others.
const test = require('node:test');
const assert = require('node:assert/strict');
const {newIdentity, registerUser} = require('../lib/wire.cjs');

const T = {timeout: 20_000};

/** Resolves to the HTTP status of a HEAD /handles/{h} made through UserAPI.headHandle. */
async function headHandleStatus(user, handle) {
  return user.act(async api => {
    try {
      await api.api.user.headHandle(handle);
      return 200;
    } catch (error) {
      if (error.response) return error.response.status; // HEAD answers carry no JSON body
      if (error.code && error.label) return error.code;
      throw error;
    }
  });
}

test.describe('handles', () => {
  const state = {};

  test.before(async () => {
    state.alice = await registerUser('handle-alice');
    state.bob = await registerUser('handle-bob');
  });

  test.it('a free handle is reported free (HEAD /handles/{h} -> 404)', T, async () => {
    const status = await headHandleStatus(state.alice, state.alice.identity.handle);
    assert.equal(status, 404, state.alice.recorder.trace());
  });

  test.it('PUT /self/handle claims the handle; HEAD /handles/{h} then says taken', T, async () => {
    const {alice, bob} = state;
    const handle = alice.identity.handle;
    await alice.act(api => api.api.self.putHandle({handle}));
    const putEntry = alice.recorder.entries.find(e => e.request === 'PUT /v8/self/handle');
    assert.match(putEntry?.status ?? '', /^200/, alice.recorder.trace());

    const self = await alice.act(api => api.api.self.getSelf());
    assert.equal(self.handle, handle, 'GET /self shows the new handle');

    assert.equal(await headHandleStatus(alice, handle), 200, alice.recorder.trace());
    assert.equal(await headHandleStatus(bob, handle), 200, `taken for other users too\n${bob.recorder.trace()}`);
    state.claimed = handle;
  });

  test.it('another user cannot take a claimed handle (409 handle-exists)', T, async () => {
    const {bob, claimed} = state;
    assert.ok(claimed, 'needs the claimed handle');
    const error = await bob.act(api => api.api.self.putHandle({handle: claimed})).then(
      () => assert.fail(`Bob took Alice's handle\n${bob.recorder.trace()}`),
      e => e,
    );
    assert.equal(error.code, 409, `${error.message}`);
    assert.equal(error.label, 'handle-exists', `${error.message}`);
    const self = await bob.act(api => api.api.self.getSelf());
    assert.equal(self.handle, undefined, 'Bob still has no handle');
  });

  test.it('an invalid handle is refused (400 invalid-handle)', T, async () => {
    const {bob} = state;
    const error = await bob.act(api => api.api.self.putHandle({handle: 'Not A Handle!'})).then(
      () => assert.fail(`an invalid handle was accepted\n${bob.recorder.trace()}`),
      e => e,
    );
    assert.equal(error.code, 400, `${error.message}`);
    assert.equal(error.label, 'invalid-handle', `${error.message}`);
  });

  test.it('changing the handle frees the old one', T, async () => {
    const {alice, claimed} = state;
    assert.ok(claimed, 'needs the claimed handle');
    const next = newIdentity('h2').handle;
    await alice.act(api => api.api.self.putHandle({handle: next}));
    assert.equal(await headHandleStatus(alice, next), 200, alice.recorder.trace());
    assert.equal(await headHandleStatus(alice, claimed), 404, `old handle released\n${alice.recorder.trace()}`);
  });
});
