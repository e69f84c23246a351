/**
 * What each piece of remoteobj's request path costs, in isolation (no socket, no other process):
 * the pieces the CPU profiles point at, timed one by one, so the hot-spot list in
 * docs/performance.md can say how many µs each is worth. Also the same pieces for case (d)'s
 * 1 MiB values, and what the raw baseline does instead.
 *
 *   node -r ts-node/register scripts/bench/micro.ts [--lib dist|src]
 */
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import type * as Codec from '../../src/protocol/codec';
import type * as Messages from '../../src/protocol/messages';
import type * as ProxyMod from '../../src/client/proxy';
import type * as PeerMod from '../../src/peer/peer';
import type * as Wire from '../../src/protocol/wire';
import type * as Evaluate from '../../src/evaluate';
import type * as Access from '../../src/access';
import type * as Lines from '../../src/transport/lines';
import type * as Lock from '../../src/host/lock';
import type * as Serving from '../../src/host/serving';
import type * as Cancel from '../../src/host/cancel';
import type * as LineReader from '../../src/protocol/line-reader';
import { libFile, libKind } from './lib';
import { median } from './stats';
import { BenchTarget, bytesPayload, mixedJson } from './target';

const lib = <T>(m: string) => require(libFile(m)) as T;
const codec = lib<typeof Codec>('protocol/codec');
const messages = lib<typeof Messages>('protocol/messages');
const proxy = lib<typeof ProxyMod>('client/proxy');
const peerMod = lib<typeof PeerMod>('peer/peer');
const wire = lib<typeof Wire>('protocol/wire');
const evaluate = lib<typeof Evaluate>('evaluate');
const access = lib<typeof Access>('access');
const lines = lib<typeof Lines>('transport/lines');
const lock = lib<typeof Lock>('host/lock');
const serving = lib<typeof Serving>('host/serving');
const cancel = lib<typeof Cancel>('host/cancel');
const lineReader = lib<typeof LineReader>('protocol/line-reader');

let sink: unknown;

/** µs per call of a synchronous `fn`: median of 5 rounds of `n` calls, after a warm-up round. */
function timeSync(n: number, fn: () => unknown): number {
  const rounds: number[] = [];
  for (let r = -1; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink = fn();
    if (r >= 0) rounds.push(((performance.now() - t0) * 1000) / n);
  }
  return median(rounds);
}

async function timeAsync(n: number, fn: () => PromiseLike<unknown>): Promise<number> {
  const rounds: number[] = [];
  for (let r = -1; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sink = await fn();
    if (r >= 0) rounds.push(((performance.now() - t0) * 1000) / n);
  }
  return median(rounds);
}

const results: { group: string; what: string; us: number }[] = [];
function record(group: string, what: string, us: number): void {
  results.push({ group, what, us });
  console.log(`  ${us.toFixed(us < 10 ? 3 : 1).padStart(10)} µs  ${what}`);
}

/** A connection that answers every request at once, in-process: what is left is the proxy's own cost. */
function fakeConnection(captureStack: boolean) {
  return {
    path: '/tmp/micro.sock',
    options: { captureStack },
    send: (_ops: unknown, sink: { value(v: unknown): void }) => queueMicrotask(() => sink.value(1)),
  } as unknown as Parameters<typeof proxy.createRootProxy>[0];
}

/**
 * A sketch of a fast path (not remoteobj code): true when `v` is JSON that the codec would send
 * unchanged (finite non -0 numbers, plain objects without a lone "$" key, no undefined), so
 * encode could hand the value to JSON.stringify as is, and decode could keep JSON.parse's result.
 */
function isPlainJson(v: unknown, depth: number): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (depth > 200) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!isPlainJson(v[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      let n = 0;
      let first = '';
      for (const k in v) {
        if (n++ === 0) first = k;
        if (!isPlainJson((v as Record<string, unknown>)[k], depth + 1)) return false;
      }
      return !(n === 1 && first.charCodeAt(0) === 36);
    }
  }
  return false;
}

/** A stack as deep as a typical caller's (the bench's await loop sits ~8 frames deep). */
function atDepth(d: number, fn: () => unknown): unknown {
  return d === 0 ? fn() : atDepth(d - 1, fn);
}

/**
 * µs per cancel of a queued request on the host, from the decoded cancel message on: InFlight
 * finds it by id, the lock forgets it (a hole, O(1)), and its connection counts it answered.
 * `n` requests wait in the queue; the median of 5 rounds, after a warm-up round.
 */
function cancelQueued(n: number): number {
  const rounds: number[] = [];
  const answerer = { dropsReplies: false, origin: { pid: 1, path: '/tmp/micro.sock' }, answer() {}, dropped() {} };
  const gate = { mayRun: () => true, park() {}, forget() {}, hasParked: false };
  const ops = [{ op: 'get' as const, key: 'add' }, { op: 'call' as const, args: [1] }];
  for (let r = -1; r < 5; r++) {
    const fifo = new lock.FifoLock('manual');
    const runner = { target: {}, ctx: { functions: {}, access: {} }, twoWay: false, lock: fifo };
    const inFlight = new cancel.InFlight();
    for (let id = 1; id <= n; id++) {
      const job = new serving.QueuedRequest(runner, ops, false, new serving.PendingReply(answerer, id, 40), gate);
      fifo.push(job);
      inFlight.add(id, job);
    }
    const t0 = performance.now();
    for (let id = n; id >= 1; id--) inFlight.cancel(id); // from the back: a scan would cost the most
    if (r >= 0) rounds.push(((performance.now() - t0) * 1000) / n);
    if (fifo.size !== 0) throw new Error('cancelQueued: requests left in the queue');
  }
  return median(rounds);
}

async function main(): Promise<void> {
  const N = 200_000;
  console.log(`remoteobj micro-benchmarks (${libKind()}/), Node ${process.version}; µs per operation, median of 5 rounds\n`);

  console.log('client, per tiny call `await remote.add(1)` (no socket):');
  const target = new BenchTarget();
  const withStack = proxy.createRootProxy(fakeConnection(true)) as any;
  const noStack = proxy.createRootProxy(fakeConnection(false)) as any;
  record('client', 'whole proxy path, captureStack on (default): get, apply, entry, flush, then', await timeAsync(N, () => withStack.add(1)));
  record('client', 'whole proxy path, captureStack off', await timeAsync(N, () => noStack.add(1)));
  record('client', '  new Error() at depth 10 (captureStack)', timeSync(N, () => atDepth(10, () => new Error())));
  const frames = Error.stackTraceLimit;
  Error.stackTraceLimit = 4;
  record('client', '  new Error() at depth 10, Error.stackTraceLimit = 4 (a cheaper capture)', timeSync(N, () => atDepth(10, () => new Error())));
  Error.stackTraceLimit = frames;
  record('client', "  inspect(1, …) (the call's description, describeArgs)", timeSync(N, () => inspect(1, { depth: 1, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 40 })));
  record('client', '  new Proxy over a fresh arrow fn + 2 defineProperty (makeNode, ×2 per call)', timeSync(N, () => {
    const t = (() => undefined) as unknown as Record<PropertyKey, unknown>;
    Object.defineProperty(t, 'a', { value: 1 });
    Object.defineProperty(t, 'b', { value: 2 });
    return new Proxy(t, {});
  }));
  record('client', '  3 promises + catch handler (entry + then chain)', await timeAsync(N, () => {
    let res!: (v: number) => void;
    const p = new Promise<number>((r) => (res = r));
    p.catch(() => {});
    res(1);
    return p.then((v) => v).then((v) => v);
  }));
  Error.stackTraceLimit = frames;

  const reqObj = { id: 12345, ops: [{ op: 'get', key: 'add' }, { op: 'call', args: [1] }] };
  const reqLine = JSON.stringify(reqObj);
  const reqParsed = JSON.parse(reqLine) as unknown;
  const replyLine = JSON.stringify({ id: 12345, kind: 'value', value: 2 });
  const replyParsed = JSON.parse(replyLine) as unknown;
  console.log(`\nwire pieces of one tiny call (request ${reqLine.length} B, reply ${replyLine.length} B):`);
  record('wire', 'JSON.stringify(request)', timeSync(N, () => JSON.stringify(reqObj)));
  record('wire', 'JSON.parse(request line)', timeSync(N, () => JSON.parse(reqLine)));
  record('wire', 'JSON.stringify(reply)', timeSync(N, () => JSON.stringify({ id: 12345, kind: 'value', value: 2 })));
  record('wire', 'JSON.parse(reply line)', timeSync(N, () => JSON.parse(replyLine)));
  record('wire', 'zod Request.safeParse (host)', timeSync(N, () => messages.Request.safeParse(reqParsed)));
  record('wire', 'zod Reply.safeParse (client)', timeSync(N, () => messages.Reply.safeParse(replyParsed)));
  record('wire', 'parseRequestLine(request line) (the host reads the canonical form by hand)', timeSync(N, () => lineReader.parseRequestLine(reqLine)));
  record('wire', 'parseReplyLine(reply line) (the client reads the canonical form by hand)', timeSync(N, () => lineReader.parseReplyLine(replyLine)));
  record('wire', 'compiled zod RequestSchema.safeParse (host, what remoteobj runs)', timeSync(N, () => messages.RequestSchema.safeParse(reqParsed)));
  record('wire', 'compiled zod ReplySchema.safeParse (client, what remoteobj runs)', timeSync(N, () => messages.ReplySchema.safeParse(replyParsed)));
  record('wire', 'codec encode(1) + decode(1) (args and result)', timeSync(N, () => codec.decode(codec.encode(1, 'args[0]'))));
  record('wire', 'Buffer.byteLength(request line) (client size check)', timeSync(N, () => Buffer.byteLength(reqLine)));
  const chunk = Buffer.from(reqLine + '\n');
  const splitter = new lines.LineSplitter({ line: (t) => (sink = t), badUtf8: () => {}, overflow: () => {} });
  record('wire', 'LineSplitter.push (one ASCII line: lastIndexOf, isAscii, latin1 decode)', timeSync(N, () => splitter.push(chunk)));
  const eight = Buffer.from((reqLine + '\n').repeat(8));
  record('wire', 'LineSplitter.push, per line of a chunk of 8 (as in case (b))', timeSync(N / 8, () => splitter.push(eight)) / 8);

  console.log('\nhost, per tiny call (no socket):');
  const ctx = { functions: {}, access: {} };
  const ops = [{ op: 'get' as const, key: 'add' }, { op: 'call' as const, args: [1] }];
  record('host', 'evaluate([get add, call 1]) incl. access checks', timeSync(N, () => evaluate.evaluate(target, ops, ctx)));
  record('host', '  checkAccess(get "add")', timeSync(N, () => access.checkAccess({ kind: 'get', target, key: 'add', atRoot: true, path: [] }, {})));
  const fifo = new lock.FifoLock('auto');
  record('host', 'FifoLock.push + run of a sync job', timeSync(N, () => fifo.push({ run: () => {}, cancel: () => {} })));
  record('host', "a client's cancel of a queued request (find by id, forget in the lock, count it answered; 100,000 queued)", cancelQueued(100_000));
  const cancelText = wire.cancelLine(12345);
  record('host', '  reading the cancel line (wire.readLineV2: parse + zod)', timeSync(N, () => wire.readLineV2(cancelText, {})));
  const hostPeer: PeerMod.Peer = new peerMod.Peer(
    { send: (l: string) => (sink = l) },
    {
      address: '/tmp/micro.sock',
      origin: { pid: 1, path: '/tmp/micro.sock' },
      handler: {
        request: (id, o) => {
          const out = evaluate.evaluate(target, o, ctx) as Evaluate.Outcome;
          if (out.kind === 'value') hostPeer.send(wire.valueReplyLine(id, out.value));
        },
      },
    },
  );
  record('host', 'Peer.line(request line) → reply line (parse, zod, decode, evaluate, encode, stringify)', timeSync(N, () => hostPeer.line(reqLine, reqLine.length)));
  record('host', "the same work by hand on remoteobj's line: JSON.parse + add + JSON.stringify", timeSync(N, () => {
    const m = JSON.parse(reqLine) as { id: number };
    return JSON.stringify({ id: m.id, v: target.add(1) });
  }));
  const rawLine = JSON.stringify({ m: 'add', a: 1, id: 12345 });
  record('host', "the raw baseline's server on its own line ({m, a, id}): JSON.parse + add + JSON.stringify", timeSync(N, () => {
    const m = JSON.parse(rawLine) as { id: number; a: number };
    return JSON.stringify({ id: m.id, v: target.add(m.a) });
  }));

  console.log('\ncase (d), 1 MiB values:');
  const json = mixedJson();
  const text = JSON.stringify(json);
  const bytes = bytesPayload();
  const M = 20;
  record('large', 'JSON.stringify(1 MiB mixed JSON)', timeSync(M, () => JSON.stringify(json)));
  record('large', 'JSON.parse(1 MiB mixed JSON)', timeSync(M, () => JSON.parse(text)));
  record('large', 'codec encode(1 MiB mixed JSON) (tree walk with paths)', timeSync(M, () => codec.encode(json, 'args[0]')));
  const parsed = JSON.parse(text) as unknown;
  record('large', 'codec decode(1 MiB mixed JSON) (tree walk, copies)', timeSync(M, () => codec.decode(parsed)));
  record('large', 'text.includes(\'"$\') on the 1 MiB line (a tag-free fast-path test)', timeSync(M, () => text.includes('"$')));
  record('large', 'proposed: isPlainJson(1 MiB) check walk, no paths, no copies', timeSync(M, () => isPlainJson(json, 0)));
  record('large', 'proposed: isPlainJson(parsed 1 MiB) as a decode pre-check', timeSync(M, () => isPlainJson(parsed, 0)));
  const line = Buffer.from(JSON.stringify({ id: 1, ops: [{ op: 'get', key: 'echo' }, { op: 'call', args: [json] }] }));
  const lineParsed = JSON.parse(line.toString()) as unknown;
  record('large', 'zod Request.safeParse (1 MiB argument, z.unknown)', timeSync(M, () => messages.Request.safeParse(lineParsed)));
  record('large', 'Buffer.byteLength(1 MiB line)', timeSync(M, () => Buffer.byteLength(text)));
  record('large', 'isUtf8(1 MiB line)', timeSync(M, () => require('node:buffer').isUtf8(line)));
  record('large', 'Buffer toString utf8 (1 MiB line)', timeSync(M, () => line.toString('utf8')));
  const b64 = Buffer.from(bytes).toString('base64');
  record('large', 'base64 encode 1 MiB (Buffer.toString)', timeSync(M, () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')));
  record('large', 'base64 decode 1 MiB (Buffer.from)', timeSync(M, () => Buffer.from(b64, 'base64')));
  record('large', 'codec encode(1 MiB Uint8Array) ($bytes)', timeSync(M, () => codec.encode(bytes, 'args[0]')));
  record('large', 'codec decode({$bytes}) incl. the strict base64 regex + copy', timeSync(M, () => codec.decode({ $bytes: b64 })));
  record('large', '  the strict base64 regex alone', timeSync(M, () => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)));
  record('large', 'proposed: strict base64 check as decode + re-encode + compare', timeSync(M, () => Buffer.from(b64, 'base64').toString('base64') === b64));
  record('large', 'proposed: strict base64 check as length%4 + /[^A-Za-z0-9+/=]/ + padding', timeSync(M, () => b64.length % 4 === 0 && !/[^A-Za-z0-9+/=]/.test(b64) && !/=[^=]/.test(b64.slice(-3))));

  if (process.argv.includes('--json')) console.log(JSON.stringify(results));
  void sink;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
