'use strict';
// Minimal HTTPS client on node:https, for requests the official client would never send
// (malformed bodies, missing/garbage tokens, oversized uploads).
const https = require('node:https');
const zlib = require('node:zlib');

const BASE = new URL(process.env.WIREBOX_URL);

/**
 * Sends one request. body: string | Buffer | undefined. Resolves {status, headers, text, json}
 * as soon as the response has ended, even if the server stopped reading the body early.
 * expectContinue: send "Expect: 100-continue" and the body only after the server's 100.
 */
function request({method = 'GET', path, headers = {}, body, expectContinue = false, timeoutMs = 10_000}) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: BASE.hostname,
      port: BASE.port,
      method,
      path,
      headers: {
        ...headers,
        ...(body !== undefined ? {'content-length': Buffer.byteLength(body)} : {}),
        ...(expectContinue ? {expect: '100-continue'} : {}),
      },
      rejectUnauthorized: false,
      agent: false,
    });
    let settled = false;
    const done = (fn, value) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        fn(value);
      }
    };
    const timer = setTimeout(() => {
      req.destroy();
      done(reject, new Error(`${method} ${path}: no response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        done(resolve, {status: res.statusCode, headers: res.headers, text, json});
      });
      res.on('error', err => done(reject, err));
    });
    // A server that answers early (413) may reset while we still write: only a missing response
    // is an error.
    req.on('error', err => {
      setTimeout(() => done(reject, new Error(`${method} ${path}: ${err.code || err.message} and no response`)), 200);
    });
    if (body !== undefined && expectContinue) {
      req.on('continue', () => req.end(body));
    } else {
      if (body !== undefined) req.write(body);
      req.end();
    }
  });
}

function jsonBody(value, {gzip = false} = {}) {
  const plain = Buffer.from(JSON.stringify(value));
  return gzip ? zlib.gzipSync(plain) : plain;
}

/** Asserts a Wire error body: {code: status, label: non-empty, message: non-empty}. */
function describeResponse(res) {
  const t = res.text.length > 300 ? `${res.text.slice(0, 300)}…` : res.text;
  return `HTTP ${res.status} ${res.headers['content-type'] || '(no content-type)'} ${t}`;
}

module.exports = {request, jsonBody, describeResponse};
