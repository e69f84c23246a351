/** The benchmark's output: the side-by-side table, the targets of issue 15, and the memory check. */
import type { CaseResults } from './cases';
import { fmt, fmtMiB, median } from './stats';
import type { MemSample } from './worker';
import { IN_CLIENT_PROCESS } from './impls/names';
import type { InterleavedResult } from './interleaved';
import { PORT_BLOCK, type PairResults } from './pairs';

export interface Row {
  label: string;
  unit: string;
  value(r: CaseResults): number | undefined;
  /** Show the ratio to raw in each cell. */
  ratio: boolean;
  /** A figure of the host process (none of its own for the message-port baselines: "in client"). */
  host?: true;
  /** Bytes written to the socket (none for the message-port baselines: "no socket"). */
  socket?: true;
}

export const ROWS: Row[] = [
  { label: '(a) sequential tiny call, p50', unit: 'µs', ratio: true, value: (r) => r.a?.p50Us },
  { label: '(a) sequential tiny call, p90', unit: 'µs', ratio: true, value: (r) => r.a?.p90Us },
  { label: '(a) sequential tiny call, p99', unit: 'µs', ratio: true, value: (r) => r.a?.p99Us },
  { label: '(a) sequential tiny call, p99.9', unit: 'µs', ratio: true, value: (r) => r.a?.p999Us },
  { label: '(a) sequential calls/s', unit: 'calls/s', ratio: true, value: (r) => r.a?.callsPerSec },
  { label: '(a) scavenges per 10k calls, client', unit: 'count', ratio: false, value: (r) => r.a?.gc.client.scavengesPer10k },
  { label: '    scavenges per 10k calls, host', unit: 'count', host: true, ratio: false, value: (r) => r.a?.gc.host.scavengesPer10k },
  { label: '    scavenge pause (mean), client', unit: 'µs', ratio: false, value: (r) => r.a?.gc.client.scavengeMeanUs },
  { label: '    scavenge pause (mean), host', unit: 'µs', host: true, ratio: false, value: (r) => r.a?.gc.host.scavengeMeanUs },
  { label: '(a) calls > p99 during a GC pause', unit: '%', ratio: false, value: (r) => r.a && (100 * (r.a.gc.slowDuringClientGc + r.a.gc.slowDuringHostGc)) / Math.max(1, r.a.gc.slowCalls) },
  { label: '(b) 8 clients pipelined', unit: 'calls/s', ratio: true, value: (r) => r.b?.callsPerSec },
  { label: '(c) 1-op request', unit: 'µs', ratio: true, value: (r) => r.c?.oneUs },
  { label: '(c) 5-op chain, one request', unit: 'µs', ratio: true, value: (r) => r.c?.chainUs },
  { label: '(c) same 5 ops, five round trips', unit: 'µs', ratio: true, value: (r) => r.c?.fiveUs },
  { label: '(c) chain ÷ 1-op', unit: '×', ratio: false, value: (r) => r.c && r.c.chainUs / r.c.oneUs },
  { label: '(c) five round trips ÷ chain', unit: '×', ratio: false, value: (r) => r.c && r.c.fiveUs / r.c.chainUs },
  { label: '(d) 1 MiB mixed JSON echo', unit: 'MB/s', ratio: true, value: (r) => r.d?.jsonMBps },
  { label: '(d) 1 MiB Uint8Array echo', unit: 'MB/s', ratio: true, value: (r) => r.d?.bytesMBps },
  { label: '(d) host CPU per JSON + bytes echo', unit: 'ms', host: true, ratio: true, value: (r) => r.d?.hostCpuMsPerPair },
  { label: '    client CPU per JSON + bytes echo', unit: 'ms', ratio: true, value: (r) => r.d?.clientCpuMsPerPair },
  { label: '(d) JSON request bytes ÷ JSON text', unit: '×', socket: true, ratio: false, value: (r) => r.d?.jsonWire },
  { label: '(d) bytes request bytes ÷ 1 MiB', unit: '×', socket: true, ratio: false, value: (r) => r.d?.bytesWire },
  { label: '(b) host CPU per 100k calls', unit: 'ms', host: true, ratio: true, value: (r) => r.b?.hostCpuMsPer100k },
  { label: '    of which system (kernel)', unit: 'ms', host: true, ratio: true, value: (r) => r.b?.hostSystemMsPer100k },
  { label: '    client CPU per 100k calls, (b)', unit: 'ms', ratio: true, value: (r) => r.b?.clientCpuMsPer100k },
  { label: '(a) host CPU per 100k calls', unit: 'ms', host: true, ratio: true, value: (r) => r.a?.hostCpuMsPer100k },
  { label: '    client CPU per 100k calls, (a)', unit: 'ms', ratio: true, value: (r) => r.a?.clientCpuMsPer100k },
];

/**
 * A row of the paired cases (e)–(k): one figure, medians over runs; `vs` names the row it is
 * measured against (its baseline, taken in turns in the same process) and the ratio is shown.
 */
export interface PairRow {
  label: string;
  unit: string;
  value(r: PairResults): number | undefined;
  vs?: { name: string; label: string };
}

const p50 = (side: InterleavedResult | undefined) => side?.p50Us;
const p99 = (side: InterleavedResult | undefined) => side?.p99Us;

export const PAIR_ROWS: PairRow[] = [
  { label: '(e) remoteobj plain call, p50', unit: 'µs', value: (r) => r.e?.remoteobj.plainP50Us },
  { label: '(e) remoteobj callback (host → client), p50', unit: 'µs', value: (r) => r.e?.remoteobj.callbackP50Us, vs: { name: 'plain call', label: '(e) remoteobj plain call, p50' } },
  { label: '(e) remoteobj plain call, p99', unit: 'µs', value: (r) => r.e?.remoteobj.plainP99Us },
  { label: '(e) remoteobj callback (host → client), p99', unit: 'µs', value: (r) => r.e?.remoteobj.callbackP99Us, vs: { name: 'plain call', label: '(e) remoteobj plain call, p99' } },
  { label: '(e) raw plain call, p50', unit: 'µs', value: (r) => r.e?.raw.plainP50Us },
  { label: '(e) raw host → client line, p50', unit: 'µs', value: (r) => r.e?.raw.callbackP50Us, vs: { name: 'raw plain', label: '(e) raw plain call, p50' } },
  { label: '(f) raw NDJSON stream', unit: 'lines/s', value: (r) => r.f?.rawPerSec },
  { label: '(f) remoteobj stream (default window)', unit: 'items/s', value: (r) => r.f?.remoteobjPerSec, vs: { name: 'raw', label: '(f) raw NDJSON stream' } },
  { label: '(f) remoteobj stream (fixed window 1,024)', unit: 'items/s', value: (r) => r.f?.wideWindowPerSec, vs: { name: 'raw', label: '(f) raw NDJSON stream' } },
  { label: '(g) 5-op chain on the root', unit: 'µs', value: (r) => r.g?.rootChainUs },
  { label: '(g) 5-op chain on a handle', unit: 'µs', value: (r) => r.g?.handleChainUs, vs: { name: 'root', label: '(g) 5-op chain on the root' } },
  { label: '(g) 1-op round trip', unit: 'µs', value: (r) => r.g?.oneUs },
  { label: '(g) open + release of a handle', unit: 'µs', value: (r) => r.g?.openReleaseUs, vs: { name: 'round trip', label: '(g) 1-op round trip' } },
  { label: '(h) host CPU per request: arrive, queue', unit: 'µs', value: (r) => r.h?.arriveUs },
  { label: '(h) host CPU per request: cancel it', unit: 'µs', value: (r) => r.h?.cancelUs },
  { label: '(h) host CPU per request: run + reply instead', unit: 'µs', value: (r) => r.h?.runUs },
  { label: '(i) raw TLS (TCP) call, p50', unit: 'µs', value: (r) => p50(r.i?.['raw-tls-tcp']) },
  { label: '(i) remoteobj tls:// call, p50', unit: 'µs', value: (r) => p50(r.i?.['remoteobj-tls']), vs: { name: 'raw TLS', label: '(i) raw TLS (TCP) call, p50' } },
  { label: '(i) raw TLS (TCP) call, p99', unit: 'µs', value: (r) => p99(r.i?.['raw-tls-tcp']) },
  { label: '(i) remoteobj tls:// call, p99', unit: 'µs', value: (r) => p99(r.i?.['remoteobj-tls']), vs: { name: 'raw TLS', label: '(i) raw TLS (TCP) call, p99' } },
  { label: '(j) raw postMessage echo, p50', unit: 'µs', value: (r) => p50(r.j?.['raw-port']) },
  { label: '(j) remoteobj port call, p50', unit: 'µs', value: (r) => p50(r.j?.['remoteobj-port']), vs: { name: 'raw', label: '(j) raw postMessage echo, p50' } },
  { label: '(j) Comlink port call, p50', unit: 'µs', value: (r) => p50(r.j?.comlink), vs: { name: 'raw', label: '(j) raw postMessage echo, p50' } },
  { label: '(j) raw postMessage echo, p99', unit: 'µs', value: (r) => p99(r.j?.['raw-port']) },
  { label: '(j) remoteobj port call, p99', unit: 'µs', value: (r) => p99(r.j?.['remoteobj-port']), vs: { name: 'raw', label: '(j) raw postMessage echo, p99' } },
  { label: '(j) Comlink port call, p99', unit: 'µs', value: (r) => p99(r.j?.comlink), vs: { name: 'raw', label: '(j) raw postMessage echo, p99' } },
  { label: '(j) raw postMessage echo, p50, alternating every call', unit: 'µs', value: (r) => p50(r.j?.['raw-port']?.everyCall) },
  { label: '(j) remoteobj port call, p50, alternating every call', unit: 'µs', value: (r) => p50(r.j?.['remoteobj-port']?.everyCall), vs: { name: 'raw', label: '(j) raw postMessage echo, p50, alternating every call' } },
  { label: '(j) Comlink port call, p50, alternating every call', unit: 'µs', value: (r) => p50(r.j?.comlink?.everyCall), vs: { name: 'raw', label: '(j) raw postMessage echo, p50, alternating every call' } },
  { label: '(k) (b) without a secret', unit: 'calls/s', value: (r) => r.k?.withoutPerSec },
  { label: '(k) (b) with a secret (handshake binding)', unit: 'calls/s', value: (r) => r.k?.withPerSec, vs: { name: 'without', label: '(k) (b) without a secret' } },
  { label: '(k) host CPU per 100k calls, without a secret', unit: 'ms', value: (r) => r.k?.withoutHostMsPer100k },
  { label: '(k) host CPU per 100k calls, with a secret', unit: 'ms', value: (r) => r.k?.withHostMsPer100k, vs: { name: 'without', label: '(k) host CPU per 100k calls, without a secret' } },
  { label: '(k) tls:// (b) without a secret', unit: 'calls/s', value: (r) => r.kTls?.withoutPerSec },
  { label: '(k) tls:// (b) with a secret (bound to TLS 1.3)', unit: 'calls/s', value: (r) => r.kTls?.withPerSec, vs: { name: 'without', label: '(k) tls:// (b) without a secret' } },
  { label: '(k) tls:// host CPU per 100k calls, without a secret', unit: 'ms', value: (r) => r.kTls?.withoutHostMsPer100k },
  { label: '(k) tls:// host CPU per 100k calls, with a secret', unit: 'ms', value: (r) => r.kTls?.withHostMsPer100k, vs: { name: 'without', label: '(k) tls:// host CPU per 100k calls, without a secret' } },
  { label: '(l) (a) p50, baseline build', unit: 'µs', value: (r) => r.l?.baseline.p50Us },
  { label: '(l) (a) p50, this build', unit: 'µs', value: (r) => r.l?.current.p50Us, vs: { name: 'baseline', label: '(l) (a) p50, baseline build' } },
  { label: '(l) (a) p99, baseline build', unit: 'µs', value: (r) => r.l?.baseline.p99Us },
  { label: '(l) (a) p99, this build', unit: 'µs', value: (r) => r.l?.current.p99Us, vs: { name: 'baseline', label: '(l) (a) p99, baseline build' } },
  { label: '(l) (b) 8 clients pipelined, baseline build', unit: 'calls/s', value: (r) => r.l?.baseline.concPerSec },
  { label: '(l) (b) 8 clients pipelined, this build', unit: 'calls/s', value: (r) => r.l?.current.concPerSec, vs: { name: 'baseline', label: '(l) (b) 8 clients pipelined, baseline build' } },
  { label: '(l) (b) host CPU per 100k calls, baseline build', unit: 'ms', value: (r) => r.l?.baseline.concHostMsPer100k },
  { label: '(l) (b) host CPU per 100k calls, this build', unit: 'ms', value: (r) => r.l?.current.concHostMsPer100k, vs: { name: 'baseline', label: '(l) (b) host CPU per 100k calls, baseline build' } },
  { label: '(l) (c) 1-op request, baseline build', unit: 'µs', value: (r) => r.l?.baseline.oneUs },
  { label: '(l) (c) 1-op request, this build', unit: 'µs', value: (r) => r.l?.current.oneUs, vs: { name: 'baseline', label: '(l) (c) 1-op request, baseline build' } },
  { label: '(l) (c) 5-op chain, baseline build', unit: 'µs', value: (r) => r.l?.baseline.chainUs },
  { label: '(l) (c) 5-op chain, this build', unit: 'µs', value: (r) => r.l?.current.chainUs, vs: { name: 'baseline', label: '(l) (c) 5-op chain, baseline build' } },
  { label: '(l) (d) 1 MiB JSON echo, baseline build', unit: 'MB/s', value: (r) => r.l?.baseline.jsonMBps },
  { label: '(l) (d) 1 MiB JSON echo, this build', unit: 'MB/s', value: (r) => r.l?.current.jsonMBps, vs: { name: 'baseline', label: '(l) (d) 1 MiB JSON echo, baseline build' } },
  { label: '(l) (d) 1 MiB bytes echo, baseline build', unit: 'MB/s', value: (r) => r.l?.baseline.bytesMBps },
  { label: '(l) (d) 1 MiB bytes echo, this build', unit: 'MB/s', value: (r) => r.l?.current.bytesMBps, vs: { name: 'baseline', label: '(l) (d) 1 MiB bytes echo, baseline build' } },
  { label: '(m) (a) p50, raw', unit: 'µs', value: (r) => r.m?.raw.p50Us },
  { label: '(m) (a) p50, remoteobj', unit: 'µs', value: (r) => r.m?.remoteobj.p50Us, vs: { name: 'raw', label: '(m) (a) p50, raw' } },
  { label: '(m) (a) p99, raw', unit: 'µs', value: (r) => r.m?.raw.p99Us },
  { label: '(m) (a) p99, remoteobj', unit: 'µs', value: (r) => r.m?.remoteobj.p99Us, vs: { name: 'raw', label: '(m) (a) p99, raw' } },
  { label: '(m) (b) 8 clients pipelined, raw', unit: 'calls/s', value: (r) => r.m?.raw.concPerSec },
  { label: '(m) (b) 8 clients pipelined, remoteobj', unit: 'calls/s', value: (r) => r.m?.remoteobj.concPerSec, vs: { name: 'raw', label: '(m) (b) 8 clients pipelined, raw' } },
  { label: '(m) (b) host CPU per 100k calls, raw', unit: 'ms', value: (r) => r.m?.raw.concHostMsPer100k },
  { label: '(m) (b) host CPU per 100k calls, remoteobj', unit: 'ms', value: (r) => r.m?.remoteobj.concHostMsPer100k, vs: { name: 'raw', label: '(m) (b) host CPU per 100k calls, raw' } },
  { label: '(m) (d) 1 MiB JSON echo, raw', unit: 'MB/s', value: (r) => r.m?.raw.jsonMBps },
  { label: '(m) (d) 1 MiB JSON echo, remoteobj', unit: 'MB/s', value: (r) => r.m?.remoteobj.jsonMBps, vs: { name: 'raw', label: '(m) (d) 1 MiB JSON echo, raw' } },
  { label: '(m) (d) 1 MiB bytes echo, raw', unit: 'MB/s', value: (r) => r.m?.raw.bytesMBps },
  { label: '(m) (d) 1 MiB bytes echo, remoteobj', unit: 'MB/s', value: (r) => r.m?.remoteobj.bytesMBps, vs: { name: 'raw', label: '(m) (d) 1 MiB bytes echo, raw' } },
];

/** Median over runs of a paired row; NaN when no run measured it. */
export function pairMed(runs: PairResults[], label: string): number {
  const row = PAIR_ROWS.find((r) => r.label === label)!;
  return median(runs.map((r) => row.value(r)).filter((v): v is number => v !== undefined && Number.isFinite(v)));
}

/** A paired row's figure and its ratio to its baseline: "45.0 (1.09× plain call)". */
export function pairCell(runs: PairResults[], row: PairRow): string {
  const v = pairMed(runs, row.label);
  if (!Number.isFinite(v)) return 'n/a';
  if (!row.vs) return fmt(v);
  const base = pairMed(runs, row.vs.label);
  return Number.isFinite(base) ? `${fmt(v)} (${(v / base).toFixed(2)}× ${row.vs.name})` : fmt(v);
}

export function renderPairs(runs: PairResults[]): string {
  const labelW = Math.max(...PAIR_ROWS.map((r) => [...r.label].length)) + 2;
  const lines = ['paired cases (e)–(m): remoteobj beside its baseline, taken in turns, a fresh client process for each case ((m): one per side) (medians of runs):'];
  for (const row of PAIR_ROWS) {
    const text = pairCell(runs, row);
    if (text === 'n/a' && runs.every((r) => row.value(r) === undefined)) continue; // a case not run
    lines.push(`  ${pad(row.label, labelW)}${pad(row.unit, 9)}${text}`);
  }
  return lines.join('\n');
}

/** Median over runs of one row for one implementation. */
export function med(runs: CaseResults[], row: Row): number {
  return median(runs.map((r) => row.value(r)).filter((v): v is number => v !== undefined && Number.isFinite(v)));
}

function pad(s: string, n: number, right = false): string {
  const len = [...s].length;
  return len >= n ? s : right ? ' '.repeat(n - len) + s : s + ' '.repeat(n - len);
}

function cell(row: Row, v: number, raw: number, isRaw: boolean): string {
  const digits = row.unit === '×' ? (row.label.includes('÷ 1 MiB') || row.label.includes('÷ JSON') ? 4 : 2) : -1;
  const text = digits >= 0 ? v.toFixed(digits) : fmt(v);
  if (!row.ratio || isRaw || !Number.isFinite(raw)) return text;
  return `${text} (${(v / raw).toFixed(2)}×)`;
}

export function renderTable(impls: string[], byImpl: Map<string, CaseResults[]>): string {
  const labelW = 38;
  const colW = 22;
  const lines = [pad('case', labelW) + pad('unit', 9) + impls.map((i) => pad(i, colW, true)).join('')];
  lines.push('-'.repeat(lines[0]!.length));
  for (const row of ROWS) {
    const raw = med(byImpl.get('raw') ?? [], row);
    const cells = impls.map((impl) => {
      if (row.host && IN_CLIENT_PROCESS.includes(impl)) return pad('in client', colW, true);
      if (row.socket && IN_CLIENT_PROCESS.includes(impl)) return pad('no socket', colW, true);
      const v = med(byImpl.get(impl) ?? [], row);
      return pad(Number.isFinite(v) ? cell(row, v, raw, impl === 'raw') : 'n/a', colW, true);
    });
    lines.push(pad(row.label, labelW) + pad(row.unit, 9) + cells.join(''));
  }
  return lines.join('\n');
}

/** One target of issue 15: what it asks, what this run measured, and whether that meets it. */
export interface TargetCheck {
  what: string;
  shown: string;
  met: boolean;
}

/** The targets of issue 15 (ratios of medians in this run). */
export function checkTargets(byImpl: Map<string, CaseResults[]>, pairs: PairResults[] = []): TargetCheck[] {
  const raw = byImpl.get('raw') ?? [];
  const ro = byImpl.get('remoteobj') ?? [];
  const m = (runs: CaseResults[], label: string) => med(runs, ROWS.find((r) => r.label === label)!);
  const out: TargetCheck[] = [];
  // (a), (b) and (d) against raw: judged on (m) when it ran (both sides in alternate blocks of a
  // few tenths of a second, so both meet the same neighbours; its control, --turns-same raw, came
  // out within a few % of 1.00×: docs/performance.md), else on the separate runs, minutes apart,
  // which this VM moves by more than the targets' margins. Both are shown when both ran.
  const ratioToRaw = (what: string, label: string, turnsLabel: string, limit: number, higherIsBetter: boolean) => {
    const apart = m(ro, label) / m(raw, label);
    const turns = pairMed(pairs, turnsLabel) / pairMed(pairs, PAIR_ROWS.find((r) => r.label === turnsLabel)!.vs!.label);
    const judged = Number.isFinite(turns) ? turns : apart;
    if (!Number.isFinite(judged)) return;
    const shown = Number.isFinite(turns) ? `in turns (m) ${turns.toFixed(2)}× raw${Number.isFinite(apart) ? `; separate runs ${apart.toFixed(2)}×` : ''}` : `${apart.toFixed(2)}× raw`;
    out.push({ what, shown, met: higherIsBetter ? judged >= limit : judged <= limit });
  };
  ratioToRaw('(a) p50 ≤ 1.1× raw', '(a) sequential tiny call, p50', '(m) (a) p50, remoteobj', 1.1, false);
  ratioToRaw('(a) p99 ≤ 1.3× raw', '(a) sequential tiny call, p99', '(m) (a) p99, remoteobj', 1.3, false);
  ratioToRaw('(b) 8-client throughput ≥ 0.9× raw', '(b) 8 clients pipelined', '(m) (b) 8 clients pipelined, remoteobj', 0.9, true);
  ratioToRaw('(b) host CPU per call ≤ 1.2× raw', '(b) host CPU per 100k calls', '(m) (b) host CPU per 100k calls, remoteobj', 1.2, false);
  // The handshake binding of the safety issue (a secret: the HMAC handshake, then a mac line per
  // batch each way binding every line to the session) costs at most 10 % of (b). Judged on case (k)
  // ((b) with and without a secret in alternate blocks of one process) when it ran, else on (b)'s
  // columns (separate runs, minutes apart); both are shown when both ran.
  const secret = byImpl.get('remoteobj+secret') ?? [];
  const apart = m(secret, '(b) 8 clients pipelined') / m(ro, '(b) 8 clients pipelined');
  const apartCpu = m(secret, '(b) host CPU per 100k calls') / m(ro, '(b) host CPU per 100k calls');
  const inTurns = pairMed(pairs, '(k) (b) with a secret (handshake binding)') / pairMed(pairs, '(k) (b) without a secret');
  const inTurnsCpu = pairMed(pairs, '(k) host CPU per 100k calls, with a secret') / pairMed(pairs, '(k) host CPU per 100k calls, without a secret');
  const shownApart = Number.isFinite(apart) ? `${apart.toFixed(2)}× without (host CPU ${apartCpu.toFixed(2)}×)` : '';
  if (Number.isFinite(inTurns)) {
    const also = shownApart ? `; in separate runs ${shownApart}` : '';
    out.push({ what: '(b) handshake binding costs ≤ 10 %', shown: `with a secret ${inTurns.toFixed(2)}× without, in turns (k) (host CPU ${inTurnsCpu.toFixed(2)}×)${also}`, met: inTurns >= 0.9 });
  } else if (Number.isFinite(apart)) out.push({ what: '(b) handshake binding costs ≤ 10 %', shown: `with a secret ${shownApart}`, met: apart >= 0.9 });
  // The same over tls://, where TLS 1.3 carries the binding and the lines no mac lines.
  const overTls = pairMed(pairs, '(k) tls:// (b) with a secret (bound to TLS 1.3)') / pairMed(pairs, '(k) tls:// (b) without a secret');
  const overTlsCpu = pairMed(pairs, '(k) tls:// host CPU per 100k calls, with a secret') / pairMed(pairs, '(k) tls:// host CPU per 100k calls, without a secret');
  if (Number.isFinite(overTls)) {
    out.push({ what: '(b) handshake binding ≤ 10 %, tls://', shown: `with a secret ${overTls.toFixed(2)}× without, in turns (k) (host CPU ${overTlsCpu.toFixed(2)}×)`, met: overTls >= 0.9 });
  }
  const chain = m(ro, '(c) chain ÷ 1-op');
  if (Number.isFinite(chain)) out.push({ what: '(c) 5-op chain ≤ 1.2× a 1-op call', shown: `${chain.toFixed(2)}×`, met: chain <= 1.2 });
  const five = m(ro, '(c) five round trips ÷ chain');
  if (Number.isFinite(five)) out.push({ what: '(c) chain ≥ 3× faster than five round trips', shown: `${five.toFixed(2)}× faster`, met: five >= 3 });
  ratioToRaw('(d) 1 MiB JSON echo ≥ 0.9× raw MB/s', '(d) 1 MiB mixed JSON echo', '(m) (d) 1 MiB JSON echo, remoteobj', 0.9, true);
  ratioToRaw('(d) 1 MiB bytes echo ≥ 0.95× raw MB/s', '(d) 1 MiB Uint8Array echo', '(m) (d) 1 MiB bytes echo, remoteobj', 0.95, true);
  const bytes = m(ro, '(d) bytes request bytes ÷ 1 MiB');
  // base64 of 1 MiB is 4/3 of it; a request line adds a few dozen bytes of envelope.
  if (Number.isFinite(bytes)) out.push({ what: '(d) bytes on the wire ≤ 4/3 (+ envelope)', shown: `${bytes.toFixed(4)}×`, met: bytes <= 4 / 3 + 256 / (1 << 20) });
  const vs = byImpl.get('vscode-jsonrpc') ?? [];
  if (vs.length) {
    const a = m(ro, '(a) sequential tiny call, p50');
    const b = m(vs, '(a) sequential tiny call, p50');
    if (Number.isFinite(a / b)) out.push({ what: '(a) faster than vscode-jsonrpc (p50)', shown: `${fmt(a)} vs ${fmt(b)} µs`, met: a < b });
  }
  const pm = (label: string) => pairMed(pairs, label);
  const against = (what: string, label: string, limit: number, higherIsBetter: boolean, note = '') => {
    const row = PAIR_ROWS.find((r) => r.label === label)!;
    const x = pm(label) / pm(row.vs!.label);
    if (Number.isFinite(x)) out.push({ what, shown: `${x.toFixed(2)}× ${row.vs!.name}${note}`, met: higherIsBetter ? x >= limit : x <= limit });
  };
  against('(e) callback round trip ≤ 1.2× a plain call', '(e) remoteobj callback (host → client), p50', 1.2, false, ' (p50)');
  // Judged on the default window; the wider one (the client's option) is shown beside it.
  const wide = pm('(f) remoteobj stream (fixed window 1,024)') / pm('(f) raw NDJSON stream');
  against('(f) stream ≥ 0.8× raw NDJSON lines/s', '(f) remoteobj stream (default window)', 0.8, true, Number.isFinite(wide) ? ` (fixed streamWindow 1,024: ${wide.toFixed(2)}×)` : '');
  against('(g) chain on a handle ≤ 1.05× on the root', '(g) 5-op chain on a handle', 1.05, false);
  against('(g) open + release ≤ 2 round trips', '(g) open + release of a handle', 2, false);
  const cancel = pm('(h) host CPU per request: cancel it');
  if (Number.isFinite(cancel)) out.push({ what: '(h) a cancelled queued request ≤ 1 µs host CPU', shown: `${fmt(cancel)} µs (+ ${fmt(pm('(h) host CPU per request: arrive, queue'))} to arrive)`, met: cancel <= 1 });
  against('(i) tls:// call ≤ 1.2× raw TLS', '(i) remoteobj tls:// call, p50', 1.2, false, ' (p50)');
  // Judged in turns of PORT_BLOCK calls (interleaved.ts says why); alternating every call is shown beside it.
  const comlink = pm('(j) Comlink port call, p50') / pm('(j) raw postMessage echo, p50');
  const everyCall = pm('(j) remoteobj port call, p50, alternating every call') / pm('(j) raw postMessage echo, p50, alternating every call');
  const everyCallComlink = pm('(j) Comlink port call, p50, alternating every call') / pm('(j) raw postMessage echo, p50, alternating every call');
  const jNote = [` (p50, turns of ${PORT_BLOCK} calls`, Number.isFinite(comlink) ? `; Comlink ${comlink.toFixed(2)}×` : '', Number.isFinite(everyCall) ? `; alternating every call ${everyCall.toFixed(2)}×, Comlink ${everyCallComlink.toFixed(2)}×` : '', ')'].join('');
  against('(j) port call ≤ 1.3× raw postMessage', '(j) remoteobj port call, p50', 1.3, false, jNote);
  // Issue 12: the redesign keeps (a)–(d) within 5 % of the build before it (judged in turns: (l), with --base).
  const within = (what: string, label: string, higherIsBetter: boolean) => against(`(l) ${what} ${higherIsBetter ? '≥ 0.95×' : '≤ 1.05×'} baseline build`, label, higherIsBetter ? 0.95 : 1.05, higherIsBetter, ' (in turns)');
  within('(a) p50', '(l) (a) p50, this build', false);
  within('(b)', '(l) (b) 8 clients pipelined, this build', true);
  within('(c) 1-op', '(l) (c) 1-op request, this build', false);
  within('(c) chain', '(l) (c) 5-op chain, this build', false);
  within('(d) JSON', '(l) (d) 1 MiB JSON echo, this build', true);
  within('(d) bytes', '(l) (d) 1 MiB bytes echo, this build', true);
  return out;
}

export function renderTargets(byImpl: Map<string, CaseResults[]>, pairs: PairResults[] = []): string {
  const out: string[] = ['targets of issue 15 (remoteobj, medians of this run; with --base also issue 12\'s, judged on (l)):'];
  for (const t of checkTargets(byImpl, pairs)) out.push(`  ${pad(t.what, 46)} ${pad(t.shown, 36)} ${t.met ? 'met' : 'MISSED'}`);
  return out.join('\n');
}

/** Case (a) taken in turns: percentiles per implementation, ratios to raw, and what the tail overlapped. */
export function renderInterleaved(results: Record<string, InterleavedResult>): string {
  const impls = Object.keys(results);
  const raw = results.raw;
  const out = ['(a) interleaved: the sequential tiny call on every implementation in turn, one client process (same neighbours for all):'];
  const head = pad('', 12) + impls.map((i) => pad(i, 22, true)).join('');
  out.push(head, '-'.repeat(head.length));
  const keys = [
    ['p50', 'p50Us'],
    ['p90', 'p90Us'],
    ['p99', 'p99Us'],
    ['p99.9', 'p999Us'],
  ] as const;
  for (const [label, key] of keys) {
    out.push(pad(`${label} µs`, 12) + impls.map((i) => pad(`${fmt(results[i]![key])}${raw && i !== 'raw' ? ` (${(results[i]![key] / raw[key]).toFixed(2)}×)` : ''}`, 22, true)).join(''));
  }
  out.push(pad('> p99 in GC', 12) + impls.map((i) => pad(`${results[i]!.slowDuringClientGc} + ${results[i]!.slowDuringHostGc} of ${results[i]!.slowCalls}`, 22, true)).join(''));
  out.push(pad('host GC/10k', 12) + impls.map((i) => pad(`${fmt(results[i]!.hostGc.scavengesPer10k)} × ${fmt(results[i]!.hostGc.scavengeMeanUs)} µs`, 22, true)).join(''));
  return out.join('\n');
}

export function renderMem(samples: MemSample[]): string {
  const out = ['memory of the remoteobj host (after 2 full GCs; 8 clients pipelining the tiny call):'];
  out.push(`  ${pad('calls', 12, true)} ${pad('RSS', 12, true)} ${pad('heap used', 12, true)}`);
  for (const s of samples) out.push(`  ${pad(s.calls.toLocaleString('en-US'), 12, true)} ${pad(fmtMiB(s.rss), 12, true)} ${pad(fmtMiB(s.heapUsed), 12, true)}`);
  const first = samples[1]!;
  const last = samples[samples.length - 1]!;
  const growth = last.heapUsed - first.heapUsed;
  const perCall = growth / Math.max(1, last.calls - first.calls);
  // Flat: no more than 1 MiB of heap gained between the first quarter and the end (noise of V8's own caches).
  const flat = growth < 1 << 20;
  out.push(`  heap from ${first.calls.toLocaleString('en-US')} to ${last.calls.toLocaleString('en-US')} calls: ${growth >= 0 ? '+' : ''}${(growth / 1024).toFixed(0)} KiB (${perCall.toFixed(3)} bytes/call): ${flat ? 'flat' : 'GROWING'}`);
  return out.join('\n');
}
