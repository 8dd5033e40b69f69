'use strict';
// Helpers for tests that drive @wireapp/core: a bounded poll, and a core Account logged in with
// a registered permanent client (legacy notification stream, pure-JS Cryptobox).

const {Account} = require('@wireapp/core');
const {ClientType, MAX_API_VERSION, MIN_API_VERSION} = require('./wire.cjs');

/** Polls cond every 10 ms until it is truthy or ms elapse. */
async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 10));
  }
}

/** Logs in through core and registers a permanent client with nbPrekeys prekeys. */
async function coreClient(user, nbPrekeys) {
  const account = new Account(user.api, {nbPrekeys, coreCryptoConfig: {wasmFilePath: '', enabled: false}});
  const loginData = {email: user.identity.email, password: user.identity.password, clientType: ClientType.PERMANENT};
  const client = await user.act(async () => {
    await account.useAPIVersion(MIN_API_VERSION, MAX_API_VERSION);
    await account.login(loginData);
    const registered = await account.registerClient(loginData, true);
    await account.initClient(registered);
    return registered;
  });
  return {account, client};
}

module.exports = {coreClient, waitFor};
