'use strict';
// Proteus messaging end to end with @wireapp/core as an app uses it: two personal users, each
// with a core Account and a registered client, connect (POST/PUT /connections), Alice creates a
// proteus group with Bob through core's conversation service, then sends text messages built by
// core's MessageBuilder with account.service.conversation.send. Bob's core decrypts them live from
// the WebSocket, and later, after being offline, from the notification stream, in order.
const test = require('node:test');
const assert = require('node:assert/strict');
const {MessageBuilder, conversation: coreConversation} = require('@wireapp/core');
const {MessageSendingState} = coreConversation;
const {ConversationProtocol} = require('@wireapp/api-client/lib/conversation/NewConversation');
const {
  DOMAIN,
  User,
  registerUser,
} = require('../lib/wire.cjs');
const {coreClient, waitFor} = require('../lib/core.cjs');

const T = {timeout: 60_000};
// As the issue asks: Bob offline, Alice sends 20, Bob gets all 20 in order.
const OFFLINE_COUNT = 20;
const LIVE_BOUND_MS = 5_000;

/** The decrypted text messages among the collected events, as [{text, from, source, at}]. */
function texts(events) {
  return events
    .filter(e => e.payload.event?.type === 'conversation.otr-message-add' && e.payload.decryptedData?.text)
    .map(e => ({
      text: e.payload.decryptedData.text.content,
      from: e.payload.event.qualified_from?.id ?? e.payload.event.from,
      source: e.source,
      at: e.at,
    }));
}

function describeEvents(events) {
  return JSON.stringify(
    events.map(e => [e.payload.event?.type, e.source, e.payload.decryptionError ? String(e.payload.decryptionError.message) : undefined]),
  );
}

test.describe('proteus messaging through core', () => {
  const state = {events: []};

  test.after(() => {
    if (state.disconnect) state.disconnect();
    if (state.disconnect2) state.disconnect2();
  });

  test.it('two connected users, a proteus group created by core', T, async () => {
    const alice = await registerUser('msg-alice');
    const bob = await registerUser('msg-bob');
    const aliceUser = new User('msg-alice-core', alice.identity);
    const bobUser = new User('msg-bob-core', bob.identity);
    const a = await coreClient(aliceUser, 8);
    const b = await coreClient(bobUser, 8);
    const aliceId = {id: alice.context.userId, domain: DOMAIN};
    const bobId = {id: bob.context.userId, domain: DOMAIN};

    const sent = await aliceUser.act(api => api.api.connection.postConnection(bobId));
    assert.equal(sent.status, 'sent', `Alice's connection request: ${JSON.stringify(sent)}`);
    const accepted = await bobUser.act(api => api.api.connection.putConnection(aliceId, {status: 'accepted'}));
    assert.equal(accepted.status, 'accepted', `Bob accepts: ${JSON.stringify(accepted)}`);

    const created = await aliceUser.act(() =>
      a.account.service.conversation.createProteusConversation({
        name: 'interop messaging',
        qualified_users: [bobId],
        receipt_mode: null,
        protocol: ConversationProtocol.PROTEUS,
      }),
    );
    const conversation = created.conversation;
    assert.ok(conversation?.qualified_id?.id, `a conversation with a qualified id: ${JSON.stringify(created)}`);
    assert.equal(conversation.qualified_id.domain, DOMAIN);
    const others = conversation.members.others.map(m => m.qualified_id?.id ?? m.id);
    assert.deepEqual(others, [bobId.id], 'Bob is the other member');

    const seen = await bobUser.act(api => api.api.conversation.getConversation(conversation.qualified_id));
    assert.equal(seen.qualified_id.id, conversation.qualified_id.id, 'Bob can read the conversation');

    Object.assign(state, {aliceUser, bobUser, a, b, aliceId, bobId, conversationId: conversation.qualified_id});
  });

  test.it("Bob's core decrypts Alice's text live from the WebSocket", T, async () => {
    const {aliceUser, bobUser, a, b, aliceId, conversationId} = state;
    assert.ok(conversationId, 'needs the conversation');
    const states = [];
    state.disconnect = await bobUser.act(() =>
      b.account.listen({
        useLegacy: true,
        onEvent: async (payload, source) => {
          state.events.push({payload, source, at: Date.now()});
        },
        onConnectionStateChanged: s => states.push(s),
      }),
    );
    await waitFor(() => states.includes('live'), 15_000, `Bob live (states: ${states})\n${bobUser.recorder.trace()}`);
    const before = state.events.length;

    const text = `hello bob ${Date.now()}`;
    const payload = MessageBuilder.buildTextMessage({text});
    const t0 = Date.now();
    const result = await aliceUser.act(() =>
      a.account.service.conversation.send({protocol: ConversationProtocol.PROTEUS, conversationId, payload}),
    );
    const sendDone = Date.now();
    assert.equal(result.state, MessageSendingState.OUTGOING_SENT, `core reports the message sent: ${JSON.stringify(result)}\n${aliceUser.recorder.trace()}`);
    assert.equal(result.id, payload.messageId);

    const got = await waitFor(
      () => texts(state.events.slice(before)).find(m => m.text === text),
      LIVE_BOUND_MS,
      `Bob decrypts "${text}" (events: ${describeEvents(state.events.slice(before))})\n${bobUser.recorder.trace()}`,
    );
    assert.equal(got.source, 'WEBSOCKET', 'delivered by the WebSocket');
    assert.equal(got.from, aliceId.id, 'from Alice');
    const decrypted = state.events.slice(before).find(e => e.payload.decryptedData?.text?.content === text);
    assert.equal(decrypted.payload.decryptedData.messageId, payload.messageId, 'same message id');
    assert.equal(decrypted.payload.event.qualified_conversation?.id, conversationId.id, 'in the group');
    assert.equal(decrypted.payload.decryptionError, undefined);
    const latency = got.at - t0;
    console.log(`# messaging: live latency ${latency} ms from send() start (${sendDone - t0} ms in send(), ` +
      `decrypted ${got.at - sendDone} ms after it resolved; negative = before)`);
  });

  test.it(`offline Bob gets ${OFFLINE_COUNT} messages from the notification stream, decrypted in order`, T, async () => {
    const {aliceUser, bobUser, a, b, conversationId} = state;
    assert.ok(state.disconnect, 'needs the live test');
    state.disconnect();
    state.disconnect = undefined;
    await new Promise(r => setTimeout(r, 200));
    const before = state.events.length;

    const sentTexts = [];
    for (let i = 1; i <= OFFLINE_COUNT; i++) {
      const text = `offline #${i} ${Date.now()}`;
      const result = await aliceUser.act(() =>
        a.account.service.conversation.send({
          protocol: ConversationProtocol.PROTEUS,
          conversationId,
          payload: MessageBuilder.buildTextMessage({text}),
        }),
      );
      assert.equal(result.state, MessageSendingState.OUTGOING_SENT, `message ${i} sent: ${JSON.stringify(result)}`);
      sentTexts.push(text);
    }
    await new Promise(r => setTimeout(r, 300));
    assert.deepEqual(texts(state.events.slice(before)), [], 'nothing arrives while Bob is offline');

    const states = [];
    state.disconnect = await bobUser.act(() =>
      b.account.listen({
        useLegacy: true,
        onEvent: async (payload, source) => {
          state.events.push({payload, source, at: Date.now()});
        },
        onConnectionStateChanged: s => states.push(s),
      }),
    );
    const got = await waitFor(
      () => {
        const m = texts(state.events.slice(before));
        return m.length >= OFFLINE_COUNT && m;
      },
      15_000,
      `${OFFLINE_COUNT} messages from the stream (events: ${describeEvents(state.events.slice(before))})\n${bobUser.recorder.trace()}`,
    );
    assert.deepEqual(got.map(m => m.text), sentTexts, `all ${OFFLINE_COUNT}, in order, once`);
    for (const m of got) assert.equal(m.source, 'NOTIFICATION_STREAM', `"${m.text}" came from the notification stream`);
    const errors = state.events.slice(before).filter(e => e.payload.decryptionError);
    assert.deepEqual(errors.map(e => String(e.payload.decryptionError.message)), [], 'no decryption errors');
  });

  test.it("a new client of Bob's makes Alice's next send fail with 412; core re-sends and the new client decrypts", T, async () => {
    const {aliceUser, bobUser, a, b, bobId, conversationId} = state;
    assert.ok(state.disconnect, 'needs the offline test');
    // Bob adds a device, which listens from the start.
    const bob2User = new User('msg-bob2-core', bobUser.identity);
    const b2 = await coreClient(bob2User, 8);
    assert.notEqual(b2.client.id, b.client.id);
    const events2 = [];
    const states2 = [];
    state.disconnect2 = await bob2User.act(() =>
      b2.account.listen({
        useLegacy: true,
        onEvent: async (payload, source) => events2.push({payload, source, at: Date.now()}),
        onConnectionStateChanged: s => states2.push(s),
      }),
    );
    await waitFor(() => states2.includes('live'), 15_000, `Bob's second client live (states: ${states2})`);
    const before = state.events.length;

    // Alice sends to the clients she knows of (as the webapp does, from its own device list):
    // core asks the server to report missing clients (report_all).
    const text = `after bob's new device ${Date.now()}`;
    const payload = MessageBuilder.buildTextMessage({text});
    const mismatches = [];
    const requestsBefore = aliceUser.recorder.entries.length;
    const result = await aliceUser.act(() =>
      a.account.service.conversation.send({
        protocol: ConversationProtocol.PROTEUS,
        conversationId,
        payload,
        userIds: {[DOMAIN]: {[bobId.id]: [b.client.id]}},
        onClientMismatch: (mismatch, wasSent) => {
          mismatches.push({mismatch, wasSent});
        },
      }),
    );
    assert.equal(result.state, MessageSendingState.OUTGOING_SENT, `sent after the re-send: ${JSON.stringify(result)}`);
    const sends = aliceUser.recorder.entries
      .slice(requestsBefore)
      .filter(e => /proteus\/messages/.test(e.request))
      .map(e => e.status.split(' ')[0]);
    assert.deepEqual(sends, ['412', '201'], `one 412, then the re-send's 201\n${aliceUser.recorder.trace()}`);
    const first = mismatches.find(m => !m.wasSent);
    assert.ok(first, `core saw the mismatch: ${JSON.stringify(mismatches)}`);
    assert.deepEqual(first.mismatch.missing, {[DOMAIN]: {[bobId.id]: [b2.client.id]}}, 'the new client is missing');

    const onNew = await waitFor(
      () => texts(events2).find(m => m.text === text),
      LIVE_BOUND_MS,
      `Bob's new client decrypts "${text}" (events: ${describeEvents(events2)})\n${bob2User.recorder.trace()}`,
    );
    assert.equal(onNew.source, 'WEBSOCKET');
    const onOld = await waitFor(
      () => texts(state.events.slice(before)).find(m => m.text === text),
      LIVE_BOUND_MS,
      `Bob's first client decrypts "${text}" too (events: ${describeEvents(state.events.slice(before))})`,
    );
    assert.equal(onOld.from, state.aliceId.id);
    assert.deepEqual(events2.filter(e => e.payload.decryptionError).map(e => String(e.payload.decryptionError.message)), []);
    state.bob2 = {bob2User, b2, events2};
  });

  test.it('a removed member stops receiving', T, async () => {
    const {aliceUser, bobUser, a, bobId, conversationId} = state;
    assert.ok(state.bob2, 'needs the 412 test');
    const {events2} = state.bob2;
    const before = state.events.length;
    const before2 = events2.length;
    await aliceUser.act(api => api.api.conversation.deleteMember(conversationId, bobId));
    // Both of Bob's clients hear that he was removed.
    const isLeave = e =>
      e.payload.event?.type === 'conversation.member-leave' &&
      e.payload.event.qualified_conversation?.id === conversationId.id;
    await waitFor(() => state.events.slice(before).find(isLeave), LIVE_BOUND_MS, 'member-leave on the first client');
    await waitFor(() => events2.slice(before2).find(isLeave), LIVE_BOUND_MS, 'member-leave on the second client');

    // Alice's core now addresses only the members the server lists: Bob is not among them.
    const text = `bob is gone ${Date.now()}`;
    const result = await aliceUser.act(() =>
      a.account.service.conversation.send({
        protocol: ConversationProtocol.PROTEUS,
        conversationId,
        payload: MessageBuilder.buildTextMessage({text}),
      }),
    );
    assert.equal(result.state, MessageSendingState.OUTGOING_SENT);
    // Messages are durable before the 201, so Bob's stream already shows whether he got it.
    for (const client of [state.b.client.id, state.bob2.b2.client.id]) {
      const all = await bobUser.act(api => api.api.notification.getAllNotifications(client));
      const leaveAt = all.notifications.findIndex(n => n.payload.some(e => e.type === 'conversation.member-leave'));
      assert.ok(leaveAt >= 0, `the stream of ${client} has the member-leave`);
      const later = all.notifications
        .slice(leaveAt + 1)
        .flatMap(n => n.payload)
        .filter(e => e.type === 'conversation.otr-message-add' && e.qualified_conversation?.id === conversationId.id);
      assert.deepEqual(later, [], `no message reaches ${client} after the removal`);
    }
    // Even if Alice's device still lists Bob's client, the server does not deliver to it.
    const forced = await aliceUser.act(() =>
      a.account.service.conversation.send({
        protocol: ConversationProtocol.PROTEUS,
        conversationId,
        payload: MessageBuilder.buildTextMessage({text: `${text} (targeted)`}),
        userIds: {[DOMAIN]: {[bobId.id]: [state.b.client.id]}},
      }),
    );
    assert.equal(forced.state, MessageSendingState.OUTGOING_SENT);
    const all = await bobUser.act(api => api.api.notification.getAllNotifications(state.b.client.id));
    const leaveAt = all.notifications.findIndex(n => n.payload.some(e => e.type === 'conversation.member-leave'));
    const later = all.notifications.slice(leaveAt + 1).flatMap(n => n.payload).filter(e => e.type === 'conversation.otr-message-add');
    assert.deepEqual(later, [], 'a message addressed to the removed client is dropped as redundant');
    assert.deepEqual(texts(state.events.slice(before)), [], 'nothing decrypted on the first client');
    assert.deepEqual(texts(events2.slice(before2)), [], 'nothing decrypted on the second client');
  });
});
