'use strict';
// The local asset store driven by @wireapp/core as the webapp uses it. Alice and Bob are connected
// personal users in a proteus group; Carol is a stranger with an account and no connection.
//  - file: the webapp's flow (metadata message, AssetService.uploadAsset with public:true and
//    retention expiring, then the file message with the remote data under the same message id);
//    Bob decrypts the message, downloads with AssetService.downloadAsset and gets Alice's bytes.
//  - image: an image message whose asset is private (public:false), so the token travels in the
//    remote data and Bob's download carries it.
//  - profile picture: two public eternal uploads (uploadRawAsset, as the webapp's
//    uploadProfileImage) set with PUT /self assets; Bob and Carol read them through GET /users.
//  - a private asset: 404 for a stranger without the token (wire-server's cargohold answers an
//    asset the caller may not read exactly like a missing one), 200 with it.
//  - delete: refused for a non-owner, then by the owner; afterwards every GET is 404.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const {MessageBuilder, conversation: coreConversation} = require('@wireapp/core');
const {MessageSendingState} = coreConversation;
const {ConversationProtocol} = require('@wireapp/api-client/lib/conversation/NewConversation');
const {AssetRetentionPolicy} = require('@wireapp/api-client/lib/asset/');
const {DOMAIN, User, registerUser} = require('../lib/wire.cjs');
const {coreClient, waitFor} = require('../lib/core.cjs');

const T = {timeout: 30_000};
const FILE_SIZE = 1 << 20;
// Retention codes in asset keys (wire-server's cargohold): 3-<code>-<uuid>.
const RETENTION_CODE = {eternal: 1, persistent: 2, volatile: 3, 'eternal-infrequent_access': 4, expiring: 5};
const KEY_RE = code => new RegExp(`^3-${code}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`);

// ---- a real PNG, made here: 8-bit RGB, one filter byte per row, zlib-deflated IDAT ------------

function pngChunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** A width x height RGB PNG whose pixels are a gradient seeded by `seed`. */
function makePng(width, height, seed) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3);
    rows[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const p = row + 1 + x * 3;
      rows[p] = (x * 255) / width;
      rows[p + 1] = (y * 255) / height;
      rows[p + 2] = (seed + x * y) & 0xff;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(rows)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width and height from a PNG's IHDR, after checking the signature. */
function pngSize(bytes) {
  assert.equal(bytes.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'PNG signature');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  return {width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20)};
}

// ---- helpers ----------------------------------------------------------------------------------

/** Byte-exact comparison with a short description instead of a 1 MiB diff. */
function assertSameBytes(actual, expected, what) {
  const a = Buffer.from(actual.buffer ?? actual, actual.byteOffset ?? 0, actual.byteLength);
  const sha = b => crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);
  assert.ok(
    a.equals(expected),
    `${what}: got ${a.length} bytes (sha256 ${sha(a)}…), expected ${expected.length} bytes (sha256 ${sha(expected)}…)`,
  );
}

/** The HTTP status of a rejected api-client call (axios error or mapped BackendError). */
async function statusOf(promise) {
  try {
    await promise;
  } catch (error) {
    const status = error.response?.status ?? (typeof error.code === 'number' ? error.code : undefined);
    if (status === undefined) throw error;
    return status;
  }
  return 200;
}

/** GET /assets/{domain}/{key} through api-client's AssetAPI (v4 addressing, as core does). */
function getAsset(user, {key, domain, token}) {
  return user.act(api => api.api.asset.getAssetV4(key, domain, token).response);
}

/** api-client 27.84 has no asset DELETE: the app sends it through the client's own transport. */
function deleteAsset(user, {key, domain}) {
  return user.act(api => api.transport.http.sendRequest({method: 'delete', url: `/assets/${domain}/${key}`}));
}

function asNumber(v) {
  return typeof v === 'number' ? v : Number(String(v));
}

test.describe('assets through core', () => {
  const state = {events: []};

  test.after(() => {
    if (state.disconnect) state.disconnect();
  });

  /** Alice sends a generic message to the group through core; returns core's result. */
  async function send(payload) {
    const {aliceUser, a, conversationId} = state;
    const result = await aliceUser.act(() =>
      a.account.service.conversation.send({protocol: ConversationProtocol.PROTEUS, conversationId, payload}),
    );
    assert.equal(result.state, MessageSendingState.OUTGOING_SENT, `core sent it: ${JSON.stringify(result)}`);
    return result;
  }

  /** The decrypted asset message Bob received with this id, once `pick` accepts its content. */
  function received(messageId, pick, what) {
    return waitFor(
      () => {
        const e = state.events.find(ev => ev.payload.decryptedData?.messageId === messageId && pick(ev.payload.decryptedData));
        return e?.payload.decryptedData;
      },
      10_000,
      `${what} (events: ${JSON.stringify(state.events.map(e => [e.payload.event?.type, e.payload.decryptedData?.content, e.payload.decryptionError?.message]))})\n` +
        state.bobUser.recorder.trace(),
    );
  }

  test.it('Alice and Bob in a proteus group, Bob listening; Carol a stranger', T, async () => {
    const alice = await registerUser('asset-alice');
    const bob = await registerUser('asset-bob');
    const carol = await registerUser('asset-carol');
    const aliceUser = new User('asset-alice-core', alice.identity);
    const bobUser = new User('asset-bob-core', bob.identity);
    const a = await coreClient(aliceUser, 8);
    const b = await coreClient(bobUser, 8);
    const aliceId = {id: alice.context.userId, domain: DOMAIN};
    const bobId = {id: bob.context.userId, domain: DOMAIN};

    const sent = await aliceUser.act(api => api.api.connection.postConnection(bobId));
    assert.equal(sent.status, 'sent');
    const accepted = await bobUser.act(api => api.api.connection.putConnection(aliceId, {status: 'accepted'}));
    assert.equal(accepted.status, 'accepted');
    const created = await aliceUser.act(() =>
      a.account.service.conversation.createProteusConversation({
        name: 'interop assets',
        qualified_users: [bobId],
        receipt_mode: null,
        protocol: ConversationProtocol.PROTEUS,
      }),
    );
    const conversationId = created.conversation?.qualified_id;
    assert.ok(conversationId?.id, `a conversation: ${JSON.stringify(created)}`);

    const states = [];
    state.disconnect = await bobUser.act(() =>
      b.account.listen({
        useLegacy: true,
        onEvent: async (payload, source) => {
          state.events.push({payload, source});
        },
        onConnectionStateChanged: s => states.push(s),
      }),
    );
    await waitFor(() => states.includes('live'), 15_000, `Bob live (states: ${states})\n${bobUser.recorder.trace()}`);
    Object.assign(state, {aliceUser, bobUser, carol, a, b, aliceId, conversationId});
  });

  test.it('a 1 MiB file: uploaded encrypted by core, Bob downloads and decrypts it byte-exact', T, async () => {
    const {aliceUser, bobUser, a, b} = state;
    assert.ok(state.conversationId, 'needs the setup');
    const data = crypto.randomBytes(FILE_SIZE);
    const metaData = {length: data.length, name: 'random.bin', type: 'application/octet-stream'};
    const messageId = MessageBuilder.createId();

    // The webapp announces the file first, then uploads, then sends the remote data.
    await send(MessageBuilder.buildFileMetaDataMessage({metaData}, messageId));
    const t0 = Date.now();
    const asset = await aliceUser.act(async () => {
      const request = await a.account.service.asset.uploadAsset(data, {
        domain: DOMAIN,
        public: true,
        retention: AssetRetentionPolicy.EXPIRING,
      });
      return request.response;
    });
    const uploadMs = Date.now() - t0;
    assert.match(asset.key, KEY_RE(RETENTION_CODE.expiring), `key of an expiring asset: ${asset.key}`);
    assert.equal(asset.domain, DOMAIN);
    assert.equal(asset.token, undefined, 'a public asset has no token');
    assert.equal(asset.cipherText.length, 16 + FILE_SIZE + 16, 'IV + AES-CBC padded ciphertext');
    await send(MessageBuilder.buildFileDataMessage({metaData, asset, file: {data}}, messageId));

    const announced = await received(messageId, d => d.asset?.original && !d.asset.uploaded, 'the file metadata message');
    assert.equal(asNumber(announced.asset.original.size), FILE_SIZE);
    assert.equal(announced.asset.original.name, 'random.bin');
    const message = await received(messageId, d => d.asset?.uploaded, 'the file message with remote data');
    const remote = message.asset.uploaded;
    assert.equal(remote.assetId, asset.key);
    assert.equal(remote.assetDomain, DOMAIN);
    assert.ok(!remote.assetToken, 'no token for a public asset');
    assert.equal(asNumber(message.asset.original.size), FILE_SIZE);
    assert.equal(message.asset.original.mimeType, 'application/octet-stream');

    const t1 = Date.now();
    const downloaded = await bobUser.act(
      () =>
        b.account.service.asset.downloadAsset(
          {version: 4, assetKey: remote.assetId, assetDomain: remote.assetDomain, assetToken: remote.assetToken, forceCaching: false},
          remote.otrKey,
          remote.sha256,
        ).response,
    );
    const downloadMs = Date.now() - t1;
    assertSameBytes(downloaded.buffer, data, 'decrypted file');
    assert.match(String(downloaded.mimeType), /^application\/octet-stream/, 'the stored content type');
    const get = bobUser.recorder.find(new RegExp(`^GET /v8/assets/${DOMAIN.replace(/\./g, '\\.')}/${asset.key}$`));
    assert.ok(get, `Bob's GET went to /v8/assets/{domain}/{key}\n${bobUser.recorder.trace()}`);
    assert.equal(get.status, `200 <${16 + FILE_SIZE + 16} bytes>`, 'answered 200 with the ciphertext, no redirect');
    console.log(`# assets: 1 MiB upload ${uploadMs} ms, download+decrypt ${downloadMs} ms`);
  });

  test.it('an image message with a private asset: Bob downloads it with the token from the message', T, async () => {
    const {aliceUser, bobUser, a, b} = state;
    assert.ok(state.conversationId, 'needs the setup');
    const width = 96;
    const height = 64;
    const png = makePng(width, height, 7);
    const messageId = MessageBuilder.createId();
    const asset = await aliceUser.act(async () => {
      const request = await a.account.service.asset.uploadAsset(png, {public: false, retention: AssetRetentionPolicy.EXPIRING});
      return request.response;
    });
    assert.match(asset.key, KEY_RE(RETENTION_CODE.expiring));
    assert.ok(typeof asset.token === 'string' && asset.token.length > 0, `a private asset has a token: ${JSON.stringify(asset.token)}`);
    await send(MessageBuilder.buildImageMessage({asset, image: {data: png, width, height, type: 'image/png'}}, messageId));

    const message = await received(messageId, d => d.asset?.uploaded, 'the image message');
    const {original, uploaded: remote} = message.asset;
    assert.equal(original.mimeType, 'image/png');
    assert.equal(asNumber(original.size), png.length);
    assert.equal(original.image?.width, width);
    assert.equal(original.image?.height, height);
    assert.equal(remote.assetToken, asset.token, 'the token travels in the message');
    assert.equal(remote.assetDomain, DOMAIN);

    const downloaded = await bobUser.act(
      () =>
        b.account.service.asset.downloadAsset(
          {version: 4, assetKey: remote.assetId, assetDomain: remote.assetDomain, assetToken: remote.assetToken, forceCaching: false},
          remote.otrKey,
          remote.sha256,
        ).response,
    );
    assertSameBytes(downloaded.buffer, png, 'decrypted image');
    assert.deepEqual(pngSize(Buffer.from(downloaded.buffer)), {width, height});
    const get = bobUser.recorder.find(new RegExp(`^GET /v8/assets/[^ ]+/${asset.key}\\?asset_token=`));
    assert.ok(get, `the token went in the asset_token query\n${bobUser.recorder.trace()}`);
  });

  test.it('a profile picture set with PUT /self assets is readable by Bob and by a stranger', T, async () => {
    const {aliceUser, bobUser, carol, a, b, aliceId} = state;
    assert.ok(state.conversationId, 'needs the setup');
    const preview = makePng(32, 32, 1);
    const complete = makePng(240, 240, 2);
    // As the webapp's uploadProfileImage: unencrypted, public, eternal.
    const options = {public: true, retention: AssetRetentionPolicy.ETERNAL};
    const [previewKey, completeKey] = await aliceUser.act(() =>
      Promise.all([
        a.account.service.asset.uploadRawAsset(preview, options).response,
        a.account.service.asset.uploadRawAsset(complete, options).response,
      ]),
    );
    for (const uploaded of [previewKey, completeKey]) {
      assert.match(uploaded.key, KEY_RE(RETENTION_CODE.eternal));
      assert.equal(uploaded.domain, DOMAIN);
      assert.equal(uploaded.token, undefined);
    }
    assert.notEqual(previewKey.key, completeKey.key);
    await aliceUser.act(api =>
      api.api.self.putSelf({
        assets: [
          {domain: completeKey.domain, key: completeKey.key, size: 'complete', type: 'image'},
          {domain: previewKey.domain, key: previewKey.key, size: 'preview', type: 'image'},
        ],
      }),
    );

    for (const [who, viewer, download] of [
      ['Bob', bobUser, data => b.account.service.asset.downloadRawAsset(data).response],
      ['Carol', carol, data => carol.api.api.asset.getAssetV4(data.assetKey, data.assetDomain, undefined, true).response],
    ]) {
      const profile = await viewer.act(api => api.api.user.getUser(aliceId));
      const bySize = Object.fromEntries((profile.assets ?? []).map(x => [x.size, x]));
      assert.deepEqual(
        bySize,
        {
          complete: {domain: DOMAIN, key: completeKey.key, size: 'complete', type: 'image'},
          preview: {domain: DOMAIN, key: previewKey.key, size: 'preview', type: 'image'},
        },
        `${who} sees Alice's assets`,
      );
      for (const [size, bytes] of [['preview', preview], ['complete', complete]]) {
        const got = await viewer.act(() =>
          download({version: 4, assetKey: bySize[size].key, assetDomain: bySize[size].domain, assetToken: undefined, forceCaching: true}),
        );
        assertSameBytes(got.buffer, bytes, `${who}'s download of the ${size} picture`);
      }
    }
  });

  test.it('a private asset: 404 for a stranger without the token or with a wrong one, 200 with it', T, async () => {
    const {aliceUser, carol, a} = state;
    assert.ok(state.conversationId, 'needs the setup');
    const secret = crypto.randomBytes(4096);
    const asset = await aliceUser.act(
      () => a.account.service.asset.uploadRawAsset(secret, {public: false, retention: AssetRetentionPolicy.PERSISTENT}).response,
    );
    assert.match(asset.key, KEY_RE(RETENTION_CODE.persistent));
    assert.ok(asset.token, 'a private asset has a token');
    const where = {key: asset.key, domain: asset.domain};

    assert.equal(await statusOf(getAsset(carol, where)), 404, 'no token');
    const wrong = crypto.randomBytes(16).toString('base64url');
    assert.notEqual(wrong, asset.token);
    assert.equal(await statusOf(getAsset(carol, {...where, token: wrong})), 404, 'a wrong token');
    const withToken = await getAsset(carol, {...where, token: asset.token});
    assertSameBytes(withToken.buffer, secret, "the stranger's download with the token");
    const own = await getAsset(aliceUser, where);
    assertSameBytes(own.buffer, secret, "the owner's download without a token");
  });

  test.it('delete: refused for a non-owner, done by the owner, then 404 for everyone', T, async () => {
    const {aliceUser, bobUser, carol, a} = state;
    assert.ok(state.conversationId, 'needs the setup');
    const bytes = crypto.randomBytes(2048);
    const asset = await aliceUser.act(
      () => a.account.service.asset.uploadRawAsset(bytes, {public: true, retention: AssetRetentionPolicy.PERSISTENT}).response,
    );
    const where = {key: asset.key, domain: asset.domain};
    assertSameBytes((await getAsset(bobUser, where)).buffer, bytes, 'readable before the delete');

    assert.equal(await statusOf(deleteAsset(carol, where)), 403, "a stranger's delete");
    assert.equal(await statusOf(deleteAsset(bobUser, where)), 403, "Bob's delete");
    assertSameBytes((await getAsset(bobUser, where)).buffer, bytes, 'still readable after the refused deletes');

    const deleted = await deleteAsset(aliceUser, where);
    assert.equal(deleted.status, 200, "the owner's delete");
    assert.equal(await statusOf(getAsset(bobUser, where)), 404, 'Bob after the delete');
    assert.equal(await statusOf(getAsset(aliceUser, where)), 404, 'Alice after the delete');
    assert.equal(await statusOf(deleteAsset(aliceUser, where)), 404, 'a second delete');
  });
});
