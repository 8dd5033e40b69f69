// A real browser calls itself through wireboxd's TURN relay. Starts wireboxd on loopback (free
// ports, --turn-allow-loopback-peers, metrics on), registers and logs in a user over the HTTP
// API, reads the ice_servers from GET /calls/config/v2, and for each TURN transport (UDP, TCP,
// TLS on the TURN TLS port, TLS on the HTTPS port) lets headless Debian chromium (driven by playwright-core) connect two RTCPeerConnections
// with iceTransportPolicy 'relay' and only that transport's URL. Each call must: select a
// relay/relay candidate pair whose relay candidates came from that URL, move data-channel
// messages both ways, audio one way and video the other (bytes and decoded frames in getStats),
// and show up in wireboxd's /metrics: new allocations and at least the bytes chromium received
// relayed to clients (every packet crosses the relay: client -> relay -> relay -> client).
//
// usage: node turn-call.mjs /path/to/wireboxd      (tests/calling/browser/run installs packages)
// Environment: CHROMIUM (default /usr/bin/chromium), WIREBOX_BROWSER_KEEP=1 keeps the temp dir.
// Prints "N passed, N failed"; exits non-zero if any case failed.
import {spawn} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';

const wireboxd = process.argv[2];
if (!wireboxd || !fs.existsSync(wireboxd)) {
  console.error('usage: node turn-call.mjs /path/to/wireboxd');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const CALL_TIMEOUT_MS = 20_000;
const MESSAGES = 100;  // data-channel messages each way, 1 KiB each

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wirebox-browser-'));
const logPath = path.join(work, 'wireboxd.log');
let daemon;
let browser;

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Starts wireboxd and resolves the ports it logs once it listens (HTTPS, metrics, TURN).
function startDaemon() {
  const log = fs.openSync(logPath, 'w');
  daemon = spawn(wireboxd, [
    '--data-dir', path.join(work, 'data'), '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0',
    '--turn-allow-loopback-peers', '--set', 'turn.loops=2', '--set', 'auth.password_scrypt_log2_n=10',
  ], {stdio: ['ignore', log, log]});
  const started = new Promise((resolve, reject) => {
    daemon.once('exit', code => reject(new Error(`wireboxd exited with ${code}`)));
    const poll = setInterval(() => {
      const text = fs.readFileSync(logPath, 'utf8');
      const api = text.match(/wireboxd: listening address=\S+ port=(\d+)/);
      const metrics = text.match(/wireboxd: metrics address=\S+ port=(\d+)/);
      const turn = text.match(/turn: listening udp=(\d+) tcp=(\d+) tls=(\d+)/);
      if (api && metrics && turn) {
        clearInterval(poll);
        resolve({api: +api[1], metrics: +metrics[1], udp: +turn[1], tcp: +turn[2], tls: +turn[3]});
      }
    }, 50);
    daemon.once('exit', () => clearInterval(poll));
  });
  return withTimeout(started, 20_000, 'wireboxd start');
}

function apiRequest(port, method, urlPath, {body, token} = {}) {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers = {};
  if (payload) Object.assign(headers, {'content-type': 'application/json', 'content-length': payload.length});
  if (token) headers.authorization = `Bearer ${token}`;
  const done = new Promise((resolve, reject) => {
    const req = https.request({host: '127.0.0.1', port, method, path: urlPath, headers, rejectUnauthorized: false,
                               agent: false}, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode >= 300) reject(new Error(`${method} ${urlPath}: HTTP ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
  return withTimeout(done, 10_000, `${method} ${urlPath}`);
}

// wirebox_turn_* series from wireboxd's Prometheus endpoint, keyed by series name.
function scrapeTurnMetrics(port) {
  const done = new Promise((resolve, reject) => {
    http.get({host: '127.0.0.1', port, path: '/metrics', agent: false}, res => {
      let text = '';
      res.on('data', c => { text += c; });
      res.on('end', () => {
        const values = {};
        for (const line of text.split('\n')) {
          const m = line.match(/^(wirebox_turn_\S+) (\S+)$/);
          if (m) values[m[1]] = Number(m[2]);
        }
        resolve(values);
      });
    }).on('error', reject);
  });
  return withTimeout(done, 5_000, 'GET /metrics');
}

// Runs in the page: two peer connections through the relay only, data both ways, video A->B
// (canvas), audio B->A (oscillator). Resolves a summary from getStats; rejects with the ICE
// state and candidate errors when the call does not complete in time.
async function callInPage({iceServers, messages, timeoutMs}) {
  const config = {iceServers, iceTransportPolicy: 'relay'};
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const candidateErrors = [];
  const gathered = {a: [], b: []};
  for (const [name, pc, other] of [['a', a, b], ['b', b, a]]) {
    pc.onicecandidate = e => {
      if (!e.candidate) return;
      gathered[name].push(e.candidate.candidate);
      other.addIceCandidate(e.candidate).catch(err => candidateErrors.push(`${name} addIceCandidate: ${err}`));
    };
    pc.onicecandidateerror = e => candidateErrors.push(`${name} ${e.url} ${e.errorCode} ${e.errorText}`);
  }
  const stopMedia = [];
  const cleanup = () => {
    stopMedia.forEach(f => f());
    a.close();
    b.close();
  };
  let stage = 'setup';
  const describe = () => `stage ${stage}, ice a=${a.iceConnectionState} b=${b.iceConnectionState}, ` +
      `gathered a=${JSON.stringify(gathered.a)} b=${JSON.stringify(gathered.b)}, errors=${JSON.stringify(candidateErrors)}`;
  // Each side's data-channel counters: a message the browser never handed to SCTP (sent short)
  // is not one the relay lost (sent complete, received short).
  const channelStats = async () => {
    const out = [];
    for (const [name, pc] of [['a', a], ['b', b]])
      for (const s of (await pc.getStats()).values())
        if (s.type === 'data-channel') out.push(`${name} sent ${s.messagesSent} received ${s.messagesReceived}`);
    return out.join(', ') || 'none';
  };
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(async () => {
      const channels = await channelStats().catch(err => `${err}`);
      reject(new Error(`call did not complete in ${timeoutMs} ms: ${describe()}, data channels: ${channels}`));
    }, timeoutMs);
  });

  const run = async () => {
    // Video A -> B from a canvas that changes every frame.
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 240;
    const g = canvas.getContext('2d');
    let frame = 0;
    const draw = setInterval(() => {
      g.fillStyle = `hsl(${(frame++ * 7) % 360} 80% 50%)`;
      g.fillRect(0, 0, canvas.width, canvas.height);
      g.fillStyle = '#000';
      g.fillText(String(frame), 10 + frame % 280, 120);
    }, 33);
    stopMedia.push(() => clearInterval(draw));
    const video = canvas.captureStream(30);
    a.addTrack(video.getVideoTracks()[0], video);
    // Audio B -> A from an oscillator.
    const audio = new AudioContext();
    await audio.resume();
    const osc = audio.createOscillator();
    const sink = audio.createMediaStreamDestination();
    osc.connect(sink);
    osc.start();
    stopMedia.push(() => audio.close());
    // A's offer must carry an audio m-line for B's track to be negotiated (B only answers).
    a.addTransceiver('audio', {direction: 'recvonly'});
    b.addTrack(sink.stream.getAudioTracks()[0], sink.stream);

    const channelA = a.createDataChannel('wirebox', {ordered: true});
    const channelB = new Promise(resolve => { b.ondatachannel = e => resolve(e.channel); });
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);

    stage = 'data channel open';
    const opened = ch => ch.readyState === 'open' ? undefined : new Promise(r => ch.addEventListener('open', r, {once: true}));
    const remoteChannel = await channelB;
    await Promise.all([opened(channelA), opened(remoteChannel)]);

    // N messages each way, in order, with their content checked. B starts sending when A's first
    // message reaches it, not when its channel looks open: chromium hands B the in-band channel
    // with readyState 'open' and fires its 'open' event itself (blink DidAddRemoteDataChannel),
    // before webrtc's SctpDataChannel underneath has left kConnecting, and a send() in that window
    // is counted in bufferedAmount but silently dropped (SctpDataChannel::SendImpl: state !=
    // kOpen). That lost B's first messages ("b: message 0 was b 29") or all of them (20 s
    // timeout, b sent 0) in about 4 % of runs. webrtc delivers a received message only in
    // kOpen, so after A's first message B's sends go out. A opened its own channel: its 'open'
    // event follows webrtc's state.
    stage = 'messages';
    const pad = 'x'.repeat(1000);
    const sendAll = (ch, from) => {
      for (let i = 0; i < messages; i++) ch.send(`${from} ${i} ${pad}`);
    };
    const receiveAll = (ch, from, onFirst = () => {}) => new Promise((resolve, reject) => {
      let next = 0;
      ch.onmessage = e => {
        if (next === 0) {
          try {
            onFirst();
          } catch (err) {
            reject(err);
          }
        }
        if (e.data !== `${from} ${next} ${pad}`) reject(new Error(`${from}: message ${next} was ${String(e.data).slice(0, 40)}`));
        if (++next === messages) resolve(next);
      };
    });
    const atB = receiveAll(remoteChannel, 'a', () => sendAll(remoteChannel, 'b'));
    const atA = receiveAll(channelA, 'b');
    sendAll(channelA, 'a');
    const [receivedByB, receivedByA] = await Promise.all([atB, atA]).catch(async err => {
      throw new Error(`${err.message}; data channels: ${await channelStats().catch(e => `${e}`)}`);
    });

    // Media: wait (bounded by the call timeout) until both directions decoded something.
    const inbound = async (pc, kind) => {
      for (const s of (await pc.getStats()).values())
        if (s.type === 'inbound-rtp' && s.kind === kind) return s;
      return undefined;
    };
    stage = 'media';
    let videoAtB;
    let audioAtA;
    for (;;) {
      videoAtB = await inbound(b, 'video');
      audioAtA = await inbound(a, 'audio');
      if (videoAtB?.framesDecoded >= 10 && audioAtA?.packetsReceived >= 25) break;
      stage = `media: video ${JSON.stringify(videoAtB)} audio ${JSON.stringify(audioAtA)}`;
      await new Promise(r => setTimeout(r, 100));
    }

    // The selected pair of each side, with its candidates and the transport's byte counts.
    const selected = async pc => {
      const stats = await pc.getStats();
      for (const t of stats.values()) {
        if (t.type !== 'transport' || !t.selectedCandidatePairId) continue;
        const pair = stats.get(t.selectedCandidatePairId);
        const pick = c => ({type: c.candidateType, address: c.address, port: c.port, protocol: c.protocol,
                            relayProtocol: c.relayProtocol, url: c.url});
        return {local: pick(stats.get(pair.localCandidateId)), remote: pick(stats.get(pair.remoteCandidateId)),
                state: pair.state, bytesReceived: t.bytesReceived, bytesSent: t.bytesSent};
      }
      return undefined;
    };
    return {
      messages: {receivedByA, receivedByB},
      video: {bytesReceived: videoAtB.bytesReceived, framesDecoded: videoAtB.framesDecoded},
      audio: {bytesReceived: audioAtA.bytesReceived, packetsReceived: audioAtA.packetsReceived},
      pairA: await selected(a),
      pairB: await selected(b),
      candidateErrors,
    };
  };
  try {
    return await Promise.race([run(), expired]);
  } finally {
    clearTimeout(timer);
    cleanup();
  }
}

// Runs in the page: ICE gathering of one relay-only peer connection; resolves the candidates and
// candidate errors once gathering completes.
async function gatherInPage({iceServers, timeoutMs}) {
  const pc = new RTCPeerConnection({iceServers, iceTransportPolicy: 'relay'});
  const candidates = [];
  const errors = [];
  pc.onicecandidate = e => { if (e.candidate) candidates.push(e.candidate.candidate); };
  pc.onicecandidateerror = e => errors.push({url: e.url, code: e.errorCode, text: e.errorText});
  const complete = new Promise(resolve => {
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
  });
  pc.createDataChannel('wirebox');
  await pc.setLocalDescription(await pc.createOffer());
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gathering not complete in ${timeoutMs} ms: ${JSON.stringify({candidates, errors})}`)),
                       timeoutMs);
  });
  try {
    await Promise.race([complete, expired]);
    return {candidates, errors};
  } finally {
    clearTimeout(timer);
    pc.close();
  }
}

let passed = 0;
let failed = 0;
async function check(name, fn) {
  const started = Date.now();
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - started} ms) ${detail}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name} (${Date.now() - started} ms): ${err.message}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function main() {
  const ports = await startDaemon();
  const email = `caller-${process.pid}@browser.test`;
  const password = 'browser-call-password';
  await apiRequest(ports.api, 'POST', '/register', {body: {name: 'Caller', email, password}});
  const {access_token: token} = await apiRequest(ports.api, 'POST', '/login', {body: {email, password}});
  const callsConfig = await apiRequest(ports.api, 'GET', '/calls/config/v2', {token});
  const server = callsConfig.ice_servers[0];
  const byTransport = {
    udp: server.urls.find(u => u.startsWith('turn:') && !u.includes('transport=tcp')),
    tcp: server.urls.find(u => u.startsWith('turn:') && u.includes('transport=tcp')),
    tls: server.urls.find(u => u === `turns:127.0.0.1:${ports.tls}?transport=tcp`),
    // turn.tls_on_https_port: the API's own port also takes TURN over TLS (turns:host:443).
    'tls-https-port': server.urls.find(u => u === `turns:127.0.0.1:${ports.api}?transport=tcp`),
  };
  console.log(`wireboxd api=${ports.api} turn udp=${ports.udp} tcp=${ports.tcp} tls=${ports.tls}; ` +
              `/calls/config/v2 urls=${JSON.stringify(server.urls)}`);

  // turns: is served with wireboxd's self-signed certificate: chromium accepts exactly its key
  // (SPKI pin), as a browser that trusts the box's certificate would.
  const cert = new crypto.X509Certificate(fs.readFileSync(path.join(work, 'data', 'tls', 'cert.pem')));
  const spki = crypto.createHash('sha256').update(cert.publicKey.export({type: 'spki', format: 'der'})).digest('base64');
  browser = await withTimeout(chromium.launch({
    executablePath,
    headless: true,
    chromiumSandbox: false,  // CI runs as root
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', `--ignore-certificate-errors-spki-list=${spki}`],
  }), 30_000, 'chromium launch');
  const page = await browser.newPage();
  page.on('console', m => { if (m.type() === 'error') console.log(`  page: ${m.text()}`); });
  await page.goto('about:blank');

  for (const [transport, url] of Object.entries(byTransport)) {
    const relayProtocol = transport.startsWith('tls') ? 'tls' : transport;  // chromium's client<->TURN leg
    await check(`${transport}: chromium calls itself through ${url ?? '(missing)'} with iceTransportPolicy relay`,
                async () => {
      expect(url, `/calls/config/v2 advertises no ${transport} URL`);
      const iceServers = [{urls: [url], username: server.username, credential: server.credential}];
      const before = await scrapeTurnMetrics(ports.metrics);
      const r = await withTimeout(page.evaluate(callInPage, {iceServers, messages: MESSAGES, timeoutMs: CALL_TIMEOUT_MS}),
                                  CALL_TIMEOUT_MS + 5_000, 'page.evaluate');
      const after = await scrapeTurnMetrics(ports.metrics);
      const delta = name => (after[name] ?? NaN) - (before[name] ?? NaN);

      for (const [side, pair] of [['a', r.pairA], ['b', r.pairB]]) {
        expect(pair, `${side}: no selected candidate pair`);
        expect(pair.local.type === 'relay' && pair.remote.type === 'relay',
               `${side}: selected pair is ${pair.local.type}/${pair.remote.type}, not relay/relay`);
        expect(pair.local.relayProtocol === relayProtocol,
               `${side}: local relay candidate over ${pair.local.relayProtocol}, not ${relayProtocol}`);
        // chromium spells out the default transport: turn:H:P -> turn:H:P?transport=udp
        expect(pair.local.url === url || pair.local.url === `${url}?transport=udp`,
               `${side}: local relay candidate from ${pair.local.url}, not ${url}`);
        expect(pair.local.address === '127.0.0.1', `${side}: relayed address ${pair.local.address}`);
      }
      expect(r.messages.receivedByA === MESSAGES && r.messages.receivedByB === MESSAGES,
             `data channel: ${JSON.stringify(r.messages)}`);
      expect(r.video.framesDecoded >= 10 && r.video.bytesReceived > 0, `video at b: ${JSON.stringify(r.video)}`);
      expect(r.audio.packetsReceived >= 25 && r.audio.bytesReceived > 0, `audio at a: ${JSON.stringify(r.audio)}`);

      const received = r.pairA.bytesReceived + r.pairB.bytesReceived;
      const allocations = delta('wirebox_turn_allocations_created_total');
      const toClients = delta('wirebox_turn_relayed_bytes_total{direction="to_clients"}');
      const toPeers = delta('wirebox_turn_relayed_bytes_total{direction="to_peers"}');
      expect(allocations >= 2, `wireboxd allocations created: +${allocations} (want >= 2)`);
      expect(toClients >= received, `wireboxd relayed +${toClients} bytes to clients, chromium received ${received}`);
      expect(toPeers >= received, `wireboxd relayed +${toPeers} bytes to peers, chromium received ${received}`);
      return `relay/relay ${pairSummary(r.pairA)}; ${MESSAGES}+${MESSAGES} messages; video ${r.video.framesDecoded} frames ` +
             `${r.video.bytesReceived} B; audio ${r.audio.packetsReceived} packets; chromium received ${received} B, ` +
             `wireboxd +${allocations} allocations, +${toPeers} B to peers, +${toClients} B to clients`;
    });
  }

  await check('wrong credential: chromium gets no relay candidate (401 from wireboxd) and the relay counts it',
              async () => {
    const iceServers = [{urls: [byTransport.udp], username: server.username, credential: `${server.credential}x`}];
    const before = await scrapeTurnMetrics(ports.metrics);
    const r = await withTimeout(page.evaluate(gatherInPage, {iceServers, timeoutMs: CALL_TIMEOUT_MS}),
                                CALL_TIMEOUT_MS + 5_000, 'page.evaluate');
    const after = await scrapeTurnMetrics(ports.metrics);
    expect(r.candidates.length === 0, `candidates: ${JSON.stringify(r.candidates)}`);
    expect(r.errors.some(e => e.code === 401), `candidate errors: ${JSON.stringify(r.errors)}`);
    const failures = after.wirebox_turn_auth_failures_total - before.wirebox_turn_auth_failures_total;
    const allocations = after.wirebox_turn_allocations_created_total - before.wirebox_turn_allocations_created_total;
    expect(failures >= 1, `wireboxd auth failures: +${failures}`);
    expect(allocations === 0, `wireboxd allocations created: +${allocations}`);
    return `errors ${JSON.stringify(r.errors.map(e => `${e.code} ${e.text}`))}; wireboxd +${failures} auth failures`;
  });
}

function pairSummary(p) {
  return `${p.local.address}:${p.local.port} <-> ${p.remote.address}:${p.remote.port}`;
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  failed++;
  console.log(`FAIL setup: ${err.message}`);
}
if (browser) await browser.close().catch(() => {});
if (daemon && daemon.exitCode === null) {
  const exited = new Promise(resolve => daemon.once('exit', resolve));
  daemon.kill('SIGTERM');
  await withTimeout(exited, 10_000, 'wireboxd stop').catch(() => daemon.kill('SIGKILL'));
}
if (failed > 0) {
  exitCode = 1;
  const lines = fs.readFileSync(logPath, 'utf8').trimEnd().split('\n');
  console.log(`== wireboxd log, last 40 lines\n${lines.slice(-40).join('\n')}`);
}
if (process.env.WIREBOX_BROWSER_KEEP === '1') console.log(`kept ${work}`);
else fs.rmSync(work, {recursive: true, force: true});
console.log(`browser TURN call: ${passed} passed, ${failed} failed`);
process.exit(exitCode);
