/**
 * Case (f) with CPU time per item on each side: raw NDJSON and remoteobj builds taken in turns,
 * each with a host process of its own (pinned as the benchmark pins: client CPU 0, host CPU 1).
 * The paired case in pairs.ts reports items/s only; on a busy machine those swing by ±40 % from
 * round to round, and CPU per item (process.cpuUsage of each process around each round) much less.
 * docs/performance.md "(f) Streams" was measured with it.
 *
 *   node -r ts-node/register scripts/bench/stream-cpu.ts [--items N] [--rounds N] [--window N] [--pin two|none] SIDE...
 *
 * SIDE: `raw`, or a checkout built with `npm run build` (its dist/ is loaded), e.g. `.` and main's.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

type Lib = typeof import('../../src/index');

/** What both hosts read: the bench target's generator (target.ts `items`). */
const target = {
  async *items(n: number): AsyncGenerator<{ n: number }> {
    for (let i = 0; i < n; i++) yield { n: i };
  },
};

const loadLib = (dir: string): Lib => require(path.resolve(dir, 'dist', 'index.js')) as Lib;

/** Split a socket's bytes into lines (raw's framing, lines.ts). */
function onLines(socket: net.Socket, fn: (line: string) => void): void {
  let pending: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      fn(pending.length > 0 ? Buffer.concat([...pending, chunk.subarray(0, nl)]).toString('utf8') : chunk.toString('utf8', start, nl));
      pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  });
}

// --- the host process ------------------------------------------------------------------------

async function host(side: string, sock: string): Promise<void> {
  process.on('message', (m) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
    if (m === 'exit') process.exit(0);
  });
  if (side === 'raw') {
    // raw.ts's stream: one line per item, 16 KiB writes, 'drain' when the socket is full.
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      onLines(socket, (line) => {
        const { id, n } = JSON.parse(line) as { id: number; n: number };
        void (async () => {
          let chunk = '';
          for await (const item of target.items(n)) {
            chunk += JSON.stringify(item) + '\n';
            if (chunk.length >= 16 * 1024) {
              const more = socket.write(chunk);
              chunk = '';
              if (!more) await once(socket, 'drain');
            }
          }
          socket.write(chunk + JSON.stringify({ id, v: n }) + '\n');
        })();
      });
    });
    await new Promise<void>((r) => server.listen(sock, r));
  } else {
    await loadLib(side).serve(target, sock, { localBypass: false });
  }
  process.send!('ready');
}

// --- the client ------------------------------------------------------------------------------

interface Client {
  stream(n: number): Promise<number>;
  close(): Promise<void>;
}

async function rawClient(sock: string): Promise<Client> {
  const socket = net.connect(sock);
  await once(socket, 'connect');
  let streamed = 0;
  let done: (n: number) => void = () => undefined;
  onLines(socket, (line) => {
    const msg = JSON.parse(line) as { id?: number };
    if (msg.id === undefined) streamed++;
    else done(streamed);
  });
  let id = 0;
  return {
    stream: (n) =>
      new Promise((resolve) => {
        streamed = 0;
        done = resolve;
        socket.write(JSON.stringify({ id: ++id, n }) + '\n');
      }),
    close: async () => void socket.end(),
  };
}

async function remoteobjClient(dir: string, sock: string, window: number | undefined): Promise<Client> {
  const remote = await loadLib(dir).connect<typeof target>(sock, { localBypass: false, ...(window ? { streamWindow: window } : {}) });
  return {
    stream: async (n) => {
      let count = 0;
      for await (const _ of await remote.items(n)) count++;
      return count;
    },
    close: () => remote.$close(),
  };
}

const cpuUs = (u: NodeJS.CpuUsage) => u.user + u.system;

function hostCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(cpuUs(m.cpu)));
    child.send('cpu');
  });
}

function pin(pid: number, cpu: number): void {
  try {
    execFileSync('taskset', ['-pc', String(cpu), String(pid)], { stdio: 'ignore' });
  } catch {
    // no taskset: unpinned
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  process.argv.splice(i, 2);
  return v;
}

async function main(): Promise<void> {
  const items = Number(arg('--items') ?? 1_000_000);
  const rounds = Number(arg('--rounds') ?? 5);
  const w = arg('--window');
  const window = w === undefined ? undefined : Number(w);
  const pinned = (arg('--pin') ?? 'two') === 'two';
  const sides = process.argv.slice(2);
  if (sides.length === 0) throw new Error('name at least one side: raw, or a built checkout');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stream-cpu-'));
  const setups: { name: string; child: ChildProcess; client: Client; runs: { perSec: number; clientUs: number; hostUs: number }[] }[] = [];
  for (const [i, side] of sides.entries()) {
    const sock = path.join(dir, `${i}.sock`);
    const child = fork(__filename, ['--host', side, sock], { execArgv: process.execArgv });
    await once(child, 'message');
    if (pinned) pin(child.pid!, 1);
    const client = side === 'raw' ? await rawClient(sock) : await remoteobjClient(side, sock, window);
    await client.stream(Math.min(items, 20_000)); // warm up
    setups.push({ name: side, child, client, runs: [] });
  }
  if (pinned) pin(process.pid, 0);
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? setups : [...setups].reverse()) {
      const h0 = await hostCpu(s.child);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const got = await s.client.stream(items);
      const ms = performance.now() - t0;
      const c = cpuUs(process.cpuUsage(c0));
      const h = (await hostCpu(s.child)) - h0;
      if (got !== items) throw new Error(`${s.name}: ${got} items arrived of ${items}`);
      s.runs.push({ perSec: items / (ms / 1000), clientUs: c / items, hostUs: h / items });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  console.log(`${items.toLocaleString()} items {n}, ${rounds} rounds in turns, medians; window ${window ?? 'default'}; load average ${os.loadavg()[0]!.toFixed(1)}`);
  for (const s of setups) {
    const perSec = median(s.runs.map((x) => x.perSec));
    console.log(
      `${s.name.padEnd(24)} ${Math.round(perSec).toLocaleString().padStart(10)} items/s   CPU per item: client ${median(s.runs.map((x) => x.clientUs)).toFixed(2)} µs, host ${median(s.runs.map((x) => x.hostUs)).toFixed(2)} µs   (rounds: ${s.runs.map((x) => Math.round(x.perSec / 1000) + 'k').join(' ')})`,
    );
    await s.client.close();
    s.child.send('exit');
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[2] === '--host') void host(process.argv[3]!, process.argv[4]!);
else
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
