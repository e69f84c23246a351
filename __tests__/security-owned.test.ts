/**
 * Issue 10 item 1: the library's own objects and Node's I/O handles are out of a client's reach,
 * whoever put them on the hosted object. A hosted object holds each of them (its own Host, another
 * Host, a Connection and the proxies of a client, a forked child, an Except, a net.Server, a
 * socket, a TLS socket, a child process, a Worker, a MessagePort, a FileHandle, a UDP socket, an
 * HTTP server, a file stream, an HTTP message); reading one, chaining through it, calling its
 * methods, setting and deleting on it, passing it to a passto function, `has`, `len` and
 * `describe` on it are all refused with an AccessError naming the rule, at the op that reached it.
 * Then the attacks of the issue, one by one: reading the secret, deleting the policy, moving the
 * host's server onto TCP, writing into another client's socket, relaying through the host's own
 * client. The CLI serve control object is in its own describe (it lives in a `remoteobj serve`).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { MessageChannel, Worker } from 'node:worker_threads';
import { AccessError, type Connection, connect, EncodeError, Except, fork, type Host, type Remote, serve } from 'remoteobj';
import { cli, killCliChildren, requireBuild, startServe, APP } from './fixtures/cli-kit';
import { Cleanup } from './fixtures/host-kit';
import { sleepForever } from './fixtures/proc-funcs';
import { tmpSock, until } from './helpers';

type Op = Parameters<Connection['request']>[0][number];
const get = (key: string | number): Op => ({ op: 'get', key });
const call = (...args: unknown[]): Op => ({ op: 'call', args });
const set = (key: string | number, value: unknown): Op => ({ op: 'set', key, value });
const del = (key: string | number): Op => ({ op: 'del', key });
const passto = (name: string, ...args: unknown[]): Op => ({ op: 'passto', name, args });

async function refused(conn: Connection, ops: Op[]): Promise<AccessError> {
  const outcome = await conn.request(ops).then(
    (r) => ({ ok: r }),
    (e: unknown) => ({ err: e }),
  );
  if ('ok' in outcome) throw new Error(`expected ${JSON.stringify(ops)} to be refused, got ${JSON.stringify(outcome.ok)}`);
  if (!(outcome.err instanceof AccessError)) throw new Error(`expected an AccessError for ${JSON.stringify(ops)}, got ${String(outcome.err)}`);
  return outcome.err;
}

async function value(conn: Connection, ops: Op[]): Promise<unknown> {
  const r = await conn.request(ops);
  return r.kind === 'value' ? r.value : 'self';
}

const SECRET = 'the-hosts-secret-4b1d';
const cleanup = new Cleanup();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-owned-'));

/** The hosted object: ordinary data, and one of each thing a client must not reach. */
const app: Record<string, any> = { name: 'app', data: { n: 1 }, boxes: {} };
/** What each entry is, the rule it falls under, and a real member of it to chain through and call. */
const entries: { key: string; rule: 'library-owned' | 'io-handle'; what: RegExp; member: string; method: string }[] = [
  { key: 'host', rule: 'library-owned', what: /Host/, member: 'path', method: 'close' },
  { key: 'otherHost', rule: 'library-owned', what: /Host/, member: 'path', method: 'processRequests' },
  { key: 'connection', rule: 'library-owned', what: /Connection/, member: 'options', method: 'close' },
  { key: 'peer', rule: 'library-owned', what: /remote proxy/, member: 'v', method: 'bump' },
  { key: 'peerNode', rule: 'library-owned', what: /remote proxy/, member: 'v', method: 'bump' },
  { key: 'forked', rule: 'library-owned', what: /Forked/, member: 'process', method: 'kill' },
  { key: 'except', rule: 'library-owned', what: /Except/, member: 'types', method: 'listen' },
  { key: 'server', rule: 'io-handle', what: /net\.Server/, member: 'listening', method: 'close' },
  { key: 'socket', rule: 'io-handle', what: /net\.Socket/, member: 'writable', method: 'write' },
  { key: 'tlsSocket', rule: 'io-handle', what: /net\.Socket/, member: 'encrypted', method: 'write' },
  { key: 'child', rule: 'io-handle', what: /ChildProcess/, member: 'pid', method: 'kill' },
  { key: 'worker', rule: 'io-handle', what: /Worker/, member: 'threadId', method: 'terminate' },
  { key: 'port', rule: 'io-handle', what: /MessagePort/, member: 'onmessage', method: 'postMessage' },
  { key: 'file', rule: 'io-handle', what: /FileHandle/, member: 'fd', method: 'write' },
  { key: 'udp', rule: 'io-handle', what: /dgram\.Socket/, member: 'type', method: 'close' },
  { key: 'httpServer', rule: 'io-handle', what: /net\.Server/, member: 'listening', method: 'listen' },
  { key: 'fileStream', rule: 'io-handle', what: /fs\.WriteStream/, member: 'path', method: 'write' },
  { key: 'response', rule: 'io-handle', what: /http\.OutgoingMessage/, member: 'headersSent', method: 'end' },
];

let host: Host;
let otherHost: Host;
let conn: Connection;
let remote: Remote<any>;
/** Requests the other host (the one the app is a client of) has answered. */
let peerReads = 0;
/** Bytes the server side of app.socket has received. */
let received = '';
let hostPath: string;

beforeAll(async () => {
  hostPath = tmpSock('own');
  // The app keeps its own host, which has a secret and a policy.
  host = cleanup.host(await serve(app, hostPath, { secret: SECRET, localBypass: false, policy: (req) => req.key !== 'forbidden' || 'forbidden is refused' }));
  app.host = host;
  app.forbidden = 'policy says no';

  const peerTarget = {
    get v() {
      peerReads++;
      return 1;
    },
    bump: () => ++peerReads,
  };
  otherHost = cleanup.host(await serve(peerTarget, tmpSock('peer'), { localBypass: false }));
  app.otherHost = otherHost;
  const peer = cleanup.remote(await connect<any>(otherHost.path, { localBypass: false }));
  app.peer = peer;
  app.peerNode = peer.v;
  app.connection = peer.$connection;

  app.forked = fork(sleepForever);
  cleanup.defer(async () => {
    app.forked.kill();
    await app.forked.join().catch(() => undefined);
  });
  app.except = new Except();
  cleanup.defer(() => app.except.close());

  const serverPath = tmpSock('srv');
  app.server = net.createServer((s) => s.on('data', (d) => (received += String(d))));
  await new Promise<void>((r) => app.server.listen(serverPath, r));
  cleanup.defer(() => new Promise<void>((r) => app.server.close(() => r())));
  app.socket = net.connect(serverPath);
  await new Promise((r) => app.socket.once('connect', r));
  cleanup.defer(() => app.socket.destroy());
  app.tlsSocket = new tls.TLSSocket(new net.Socket());
  cleanup.defer(() => app.tlsSocket.destroy());
  app.child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], { stdio: 'ignore' });
  cleanup.defer(() => {
    app.child.kill('SIGKILL');
  });
  app.worker = new Worker('setInterval(() => {}, 60000)', { eval: true });
  cleanup.defer(() => app.worker.terminate());
  const channel = new MessageChannel();
  app.port = channel.port1;
  cleanup.defer(() => {
    channel.port1.close();
    channel.port2.close();
  });
  app.file = await fs.promises.open(path.join(tmp, 'f.txt'), 'w');
  cleanup.defer(() => app.file.close());
  app.udp = dgram.createSocket('udp4');
  cleanup.defer(() => app.udp.close());
  app.httpServer = http.createServer();
  app.fileStream = fs.createWriteStream(path.join(tmp, 's.txt'));
  cleanup.defer(() => new Promise<void>((r) => app.fileStream.end(r)));
  app.response = new http.OutgoingMessage();
  for (const { key } of entries) app.boxes[key] = { inner: [app[key]] };

  remote = cleanup.remote(await connect<any>(hostPath, { secret: SECRET, localBypass: false }));
  conn = remote.$connection;
});

afterAll(async () => {
  await cleanup.run();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('each object the library makes, and each I/O handle, held by the hosted object', () => {
  test.each(entries)('$key: read, chained through, called, set, deleted, passed, has, len, describe: all refused at the op that reached it', async ({ key, rule, what, member, method }) => {
    const attempts: Op[][] = [
      [get(key)],
      [get(key), get(member)],
      [get(key), get(method), call()],
      [get(key), set('x', 1)],
      [get(key), del(member)],
      [get(key), passto('String')],
      [get(key), passto('JSON.stringify')],
      [get(key), { op: 'has', value: member }],
      [get(key), { op: 'len' }],
      [get(key), { op: 'describe' }],
    ];
    for (const ops of attempts) {
      const err = await refused(conn, ops);
      expect(err.rule).toBe(rule);
      expect(err.message).toMatch(what);
      expect(err.origin).toMatchObject({ op: 0, opName: 'get' });
    }
    expect(app[key]).toBeDefined();
    if (typeof app[key] === 'object') {
      expect(Object.hasOwn(app[key], 'x')).toBe(false); // the set did not run
      expect(member in app[key]).toBe(true); // nor the del
    }
  });

  test('the library’s objects are never sent, nested in a plain object or an array either', async () => {
    for (const { key, rule } of entries) {
      const outcome = await conn.request([get('boxes'), get(key)]).catch((e: unknown) => e);
      if (rule === 'library-owned') {
        if (!(outcome instanceof AccessError)) throw new Error(`${key}: ${String(outcome)}`);
        expect(outcome).toBeInstanceOf(AccessError);
        expect(outcome).toMatchObject({ rule: 'library-owned' });
      } else {
        // An I/O handle is not data: refused by the codec as it always was.
        expect(outcome instanceof AccessError || outcome instanceof EncodeError).toBe(true);
      }
    }
    // An Except leaves a host only when the host marks it with ref() (then by reference); listening changes nothing.
    await app.except.listen();
    expect(await refused(conn, [get('boxes'), get('except')])).toMatchObject({ rule: 'library-owned' });
    expect(await refused(conn, [get('except')])).toMatchObject({ rule: 'library-owned' });
  });

  test('passto on the hosted object cannot copy them out either (JSON.stringify, Object.entries, Object.keys of a Host)', async () => {
    expect((await refused(conn, [passto('JSON.stringify')])).rule).toMatch(/library-owned|io-handle/);
    expect((await refused(conn, [passto('Object.entries')])).rule).toBe('library-owned');
    expect((await refused(conn, [get('boxes'), passto('JSON.stringify')])).rule).toMatch(/library-owned|io-handle/);
    // Plain data still goes: only the unreachable parts are refused.
    expect(await value(conn, [get('data'), passto('JSON.stringify')])).toBe('{"n":1}');
    expect(await value(conn, [get('data'), get('n')])).toBe(1);
  });

  test('describe (ls) does not list them: a client sees only what it can reach', async () => {
    const d = (await value(conn, [{ op: 'describe' }])) as { members: { name: string }[] };
    const names = d.members.map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['name', 'data', 'boxes']));
    for (const { key } of entries) expect(names).not.toContain(key);
  });

  test('a method returning one of them (also through a promise) is refused after it ran, with its result unsent', async () => {
    app.getHost = () => host;
    app.getHostLater = async () => host;
    app.getServer = () => app.server;
    try {
      expect(await refused(conn, [get('getHost'), call()])).toMatchObject({ rule: 'library-owned', origin: { op: 1, opName: 'call' } });
      expect(await refused(conn, [get('getHostLater'), call()])).toMatchObject({ rule: 'library-owned', origin: { op: 1 } });
      expect(await refused(conn, [get('getServer'), call(), get('close'), call()])).toMatchObject({ rule: 'io-handle', origin: { op: 1 } });
      expect(app.server.listening).toBe(true);
    } finally {
      delete app.getHost;
      delete app.getHostLater;
      delete app.getServer;
    }
  });
});

describe('the attacks of the issue', () => {
  test('reading host.secret fails, and no reply carries the secret', async () => {
    const replies: string[] = [];
    for (const ops of [[get('host'), get('secret')], [get('host')], [passto('JSON.stringify')], [passto('Object.entries')], [get('host'), passto('JSON.stringify')]]) {
      const err = await refused(conn, ops);
      replies.push(JSON.stringify({ ...err, message: err.message, stack: err.stack }));
    }
    for (const r of replies) expect(r).not.toContain(SECRET);
  });

  test('deleting the policy fails, and the policy still holds', async () => {
    expect((await refused(conn, [get('forbidden')])).rule).toBe('policy');
    expect((await refused(conn, [get('host'), get('ctx'), get('access'), del('policy')])).rule).toBe('library-owned');
    expect((await refused(conn, [get('host'), get('ctx'), get('access'), set('policy', null)])).rule).toBe('library-owned');
    expect((await refused(conn, [get('forbidden')])).rule).toBe('policy');
  });

  test('server.close() then listen({port}) fails: the host stays on its socket, nothing listens on TCP', async () => {
    expect((await refused(conn, [get('host'), get('server'), get('close'), call()])).rule).toBe('library-owned');
    expect((await refused(conn, [get('server'), get('close'), call()])).rule).toBe('io-handle');
    expect((await refused(conn, [get('server'), get('listen'), call({ port: 0, host: '127.0.0.1' })])).rule).toBe('io-handle');
    expect((await refused(conn, [get('httpServer'), get('listen'), call({ port: 0, host: '127.0.0.1' })])).rule).toBe('io-handle');
    expect(app.httpServer.listening).toBe(false);
    expect(typeof app.server.address()).toBe('string'); // still the Unix socket path
    // A new client still reaches the host at its path.
    const again = await connect<any>(hostPath, { secret: SECRET, localBypass: false });
    try {
      expect(await again.name).toBe('app');
    } finally {
      await again.$close();
    }
  });

  test("writing into another client's socket fails: nothing arrives on the other end", async () => {
    expect((await refused(conn, [get('host'), get('sockets')])).rule).toBe('library-owned');
    expect((await refused(conn, [get('socket'), get('write'), call('{"id":1,"kind":"value","value":"forged"}\n')])).rule).toBe('io-handle');
    expect((await refused(conn, [get('tlsSocket'), get('write'), call('forged')])).rule).toBe('io-handle');
    expect((await refused(conn, [get('response'), get('end'), call('forged')])).rule).toBe('io-handle');
    // The app's own write still arrives, and it is the only thing that did.
    app.socket.write('mine');
    await until(() => received === 'mine');
  });

  test("the host's own client is not a relay: chains through it send nothing to the other host", async () => {
    expect((await refused(conn, [get('peer'), get('v')])).rule).toBe('library-owned');
    expect((await refused(conn, [get('peerNode')])).rule).toBe('library-owned');
    expect((await refused(conn, [get('peer'), get('bump'), call()])).rule).toBe('library-owned');
    expect((await refused(conn, [get('connection'), get('request'), call([{ op: 'get', key: 'v' }])])).rule).toBe('library-owned');
    // Let anything wrongly queued be sent and answered, then check the other host saw nothing.
    expect(await app.peer.bump()).toBe(1);
    expect(peerReads).toBe(1);
  });

  test('the forked child and the child process stay alive: kill() cannot be reached', async () => {
    expect((await refused(conn, [get('forked'), get('kill'), call('SIGKILL')])).rule).toBe('library-owned');
    expect((await refused(conn, [get('child'), get('kill'), call('SIGKILL')])).rule).toBe('io-handle');
    expect(app.child.exitCode).toBeNull();
    expect(app.child.signalCode).toBeNull();
  });
});

describe('hosting one of them, and allowIoHandles', () => {
  test('a hosted object that is itself a Host: every op on it is refused (an empty chain still answers "self")', async () => {
    const p = tmpSock('self');
    cleanup.host(await serve(otherHost, p, { localBypass: false }));
    const c = cleanup.remote(await connect<any>(p, { localBypass: false })).$connection;
    expect(await refused(c, [get('path')])).toMatchObject({ rule: 'library-owned', origin: { op: 0 } });
    expect(await refused(c, [passto('JSON.stringify')])).toMatchObject({ rule: 'library-owned' });
    expect(await c.request([])).toEqual({ kind: 'self' });
  });

  test('allowIoHandles lets I/O handles through; the library’s objects stay refused', async () => {
    const p = tmpSock('allow');
    const target = { server: app.server, host };
    cleanup.host(await serve(target, p, { localBypass: false, allowIoHandles: true }));
    const c = cleanup.remote(await connect<any>(p, { localBypass: false })).$connection;
    expect(await value(c, [get('server'), get('listening')])).toBe(true);
    expect((await refused(c, [get('host'), get('path')])).rule).toBe('library-owned');
  });
});

describe('the CLI serve control (fixtures/cli-app.js keeps it as app.control)', () => {
  let sock: string;
  beforeAll(async () => {
    requireBuild();
    sock = (await startServe([APP, '--path', tmpSock('ctl'), '--readonly'])).socketPath;
  });
  afterAll(killCliChildren);

  test('its host, close() and the rest are refused; the host keeps serving', async () => {
    for (const expr of ['control', 'control.host', 'control.host.secret', 'control.path']) {
      const r = await cli(['get', sock, expr]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^AccessError: "control" is one of remoteobj's own objects \(the serve control\)/);
    }
    const close = await cli(['call', sock, 'control.close()']);
    expect(close.code).toBe(1);
    expect(close.stderr).toMatch(/^AccessError/);
    const listen = await cli(['call', sock, 'control.host.server.listen({"port": 0, "host": "127.0.0.1"})']);
    expect(listen.code).toBe(1);
    expect((await cli(['get', sock, 'name'])).stdout).toBe('"cli-app"\n');
  });
});
