// bench/websocket/idle.cjs — memory per idle authenticated WebSocket.
// Run wireboxd (e.g. --listen 127.0.0.1:18443 --set turn.enabled=false --set http.loops=1), then:
//   ulimit -n 20000; NODE_PATH=tests/interop/node_modules node bench/websocket/idle.cjs 18443 $(pgrep -n wireboxd) 5000
// Registers a user, opens N wss://…/await sockets (one client id each), prints the daemon's RSS delta.
'use strict';
const https = require('node:https');
const fs = require('node:fs');
const WebSocket = require(process.env.WS_MODULE || 'ws');
const [port, pid, n] = process.argv.slice(2).map(Number);

function rss() {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}
function req(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const r = https.request({host: '127.0.0.1', port, method, path, rejectUnauthorized: false, agent: false,
      headers: {'content-type': 'application/json', ...headers}}, res => {
      let text = '';
      res.on('data', d => (text += d));
      res.on('end', () => resolve({status: res.statusCode, headers: res.headers, text}));
    });
    r.on('error', reject);
    r.end(body ? JSON.stringify(body) : undefined);
  });
}
(async () => {
  const email = `idle-${Date.now()}@example.com`;
  const reg = await req('POST', '/v8/register', {name: 'idle', email, password: 'secret-password-1'});
  const cookie = (reg.headers['set-cookie'] || [])[0].split(';')[0];
  const acc = await req('POST', '/access', null, {cookie});
  const token = JSON.parse(acc.text).access_token;
  const before = rss();
  const sockets = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 100); j++) {
      batch.push(new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://127.0.0.1:${port}/await?access_token=${token}&client=c${j.toString(16)}`,
                                 {rejectUnauthorized: false, perMessageDeflate: false});
        ws.on('open', () => resolve(ws));
        ws.on('error', reject);
      }));
    }
    sockets.push(...(await Promise.all(batch)));
  }
  const opened = Date.now() - t0;
  await new Promise(r => setTimeout(r, 1000));
  const after = rss();
  console.log(`sockets=${n} open_ms=${opened} rss_before_kb=${before} rss_after_kb=${after} ` +
              `per_socket_bytes=${Math.round(((after - before) * 1024) / n)}`);
  for (const ws of sockets) ws.terminate();
  process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
