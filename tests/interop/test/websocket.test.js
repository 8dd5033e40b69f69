'use strict';
// The WebSocket hub and the persisted notification stream, driven by the official packages:
// core's Account.listen() (legacy /await socket) receives `user.client-add` live when the same
// user registers a second client; the frame's id is the one /notifications serves; api-client's
// getAllNotifications pages with `since` (exclusive) and resyncs from the start on an unknown
// `since` (404 not-found).
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  User,
  registerUser,
} = require('../lib/wire.cjs');
const {coreClient, waitFor} = require('../lib/core.cjs');

const T = {timeout: 60_000};
const ON_MESSAGE = 'WebSocketClient.TOPIC.ON_MESSAGE';

test.describe('websocket and notification stream', () => {
  const state = {};

  test.after(() => {
    if (state.disconnect) state.disconnect();
  });

  test.it('core listen() gets user.client-add for a second client live over the WebSocket', T, async () => {
    const alice = await registerUser('ws-alice');
    const first = new User('ws-alice-first', alice.identity);
    const {account, client} = await coreClient(first, 4);

    const events = [];
    const states = [];
    state.disconnect = await first.act(() =>
      account.listen({
        useLegacy: true,
        onEvent: (payload, source) => events.push({event: payload.event, source}),
        onConnectionStateChanged: s => states.push(s),
      }),
    );
    await waitFor(() => states.includes('live'), 15_000, `connection state live (states: ${states})`);
    // Raw frames too (listen() replaced every earlier ON_MESSAGE listener, so subscribe after it).
    const frames = [];
    first.api.transport.ws.on(ON_MESSAGE, notification => frames.push(notification));

    // The same user registers another device.
    const second = new User('ws-alice-second', alice.identity);
    const {client: client2} = await coreClient(second, 4);
    assert.notEqual(client2.id, client.id);

    const live = await waitFor(
      () => events.find(e => e.event?.type === 'user.client-add' && e.event.client?.id === client2.id),
      10_000,
      `user.client-add for ${client2.id} (events: ${JSON.stringify(events.map(e => [e.event?.type, e.source]))})\n` +
        first.recorder.trace(),
    );
    assert.equal(live.source, 'WEBSOCKET', 'delivered by the WebSocket, not a refetch');
    const frame = frames.find(f => f.payload?.[0]?.client?.id === client2.id);
    assert.ok(frame, 'the raw frame was seen');
    assert.equal(typeof frame.id, 'string');
    assert.equal(frame.transient, false);
    assert.ok(!('type' in frame), 'legacy frames carry no top-level type');

    Object.assign(state, {first, client, client2, frameId: frame.id});
  });

  test.it('getAllNotifications pages with since (exclusive) and resyncs on an unknown since', T, async () => {
    const {first, client, client2, frameId} = state;
    assert.ok(frameId, 'needs the previous test');
    const api = first.api.api.notification;

    const all = await first.act(() => api.getAllNotifications(client.id));
    const ids = all.notifications.map(n => n.id);
    assert.ok(ids.length >= 2, `at least both client-add notifications: ${JSON.stringify(all.notifications)}`);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    assert.ok(ids.includes(frameId), 'the WebSocket frame id is the id /notifications serves');
    const adds = all.notifications.filter(n => n.payload[0]?.type === 'user.client-add').map(n => n.payload[0].client.id);
    assert.ok(adds.includes(client.id) && adds.includes(client2.id), `client-add for both clients: ${adds}`);

    const after = await first.act(() => api.getAllNotifications(client.id, ids[0]));
    assert.deepEqual(after.notifications.map(n => n.id), ids.slice(1), 'since is exclusive');
    assert.equal(after.missedNotification, undefined);

    const last = await first.act(() => api.getAllNotifications(client.id, ids[ids.length - 1]));
    assert.deepEqual(last.notifications, [], 'nothing after the last id');

    const lastOne = await first.act(() => api.getLastNotification(client.id));
    assert.equal(lastOne.id, ids[ids.length - 1], '/notifications/last is the newest');

    // A v1 TimeUUID this server never issued: 404 not-found, so the client starts over.
    const unknown = 'a0000000-0000-1000-8000-000000000001';
    const resync = await first.act(() => api.getAllNotifications(client.id, unknown));
    assert.deepEqual(resync.notifications.map(n => n.id), ids, 'full list after an unknown since');
    assert.equal(resync.missedNotification, unknown);
  });
});
