'use strict';
// API version negotiation, as APIClient.useVersion and core's Account.useAPIVersion do it.
const test = require('node:test');
const assert = require('node:assert/strict');
const {Account} = require('@wireapp/core');
const {DOMAIN, MAX_API_VERSION, MIN_API_VERSION, createApiClient, traced} = require('../lib/wire.cjs');

test('APIClient.useVersion negotiates v8 and the backend domain', {timeout: 15_000}, async () => {
  const apiClient = createApiClient('negotiator');
  const features = await traced(apiClient, () => apiClient.useVersion(MIN_API_VERSION, MAX_API_VERSION));
  assert.equal(features.version, 8, 'highest version both sides support');
  assert.equal(features.domain, DOMAIN);
  assert.equal(features.isFederated, false);
  assert.equal(features.federationEndpoints, true);
  // Later requests carry the /v8 prefix.
  assert.equal(apiClient.transport.http.getBaseUrl(), `${process.env.WIREBOX_URL}/v8`);
  const [entry] = apiClient.recorder.entries;
  assert.match(entry.request, /^GET \/api-version$/, 'the version probe is unversioned');
});

test('GET /api-version body has the shape the client reads', {timeout: 15_000}, async () => {
  const apiClient = createApiClient('raw-version');
  const response = await traced(apiClient, () => apiClient.transport.http.sendRequest({url: '/api-version'}));
  assert.equal(response.status, 200);
  const body = response.data;
  assert.ok(Array.isArray(body.supported), 'supported is an array');
  assert.ok(body.supported.length > 0, 'supported is not empty');
  for (const v of body.supported) assert.ok(Number.isInteger(v) && v >= MIN_API_VERSION, `bad version ${v}`);
  assert.ok(body.supported.includes(8), 'v8 is supported');
  if (body.development !== undefined) assert.ok(Array.isArray(body.development));
  assert.equal(body.domain, DOMAIN);
  assert.equal(body.federation, false);
});

test('core Account.useAPIVersion picks the same version', {timeout: 15_000}, async () => {
  const apiClient = createApiClient('core-version');
  const account = new Account(apiClient);
  const features = await traced(apiClient, () => account.useAPIVersion(MIN_API_VERSION, MAX_API_VERSION));
  assert.equal(features.version, 8);
  assert.equal(account.backendFeatures.version, 8);
  assert.equal(features.supportsMLS, true, 'v8 implies the MLS endpoints exist in the client');
});
