/** The benchmark's output: the side-by-side table, the targets of issue 15, and the memory check. */
import type { CaseResults } from './cases';
import { fmt, fmtMiB, median } from './stats';
import type { MemSample } from './worker';
import type { InterleavedResult } from './interleaved';

export interface Row {
  label: string;
  unit: string;
  value(r: CaseResults): number | undefined;
  /** Show the ratio to raw in each cell. */
  ratio: boolean;
}

export const ROWS: Row[] = [
  { label: '(a) sequential tiny call, p50', unit: 'µs', ratio: true, value: (r) => r.a?.p50Us },
  { label: '(a) sequential tiny call, p90', unit: 'µs', ratio: true, value: (r) => r.a?.p90Us },
  { label: '(a) sequential tiny call, p99', unit: 'µs', ratio: true, value: (r) => r.a?.p99Us },
  { label: '(a) sequential tiny call, p99.9', unit: 'µs', ratio: true, value: (r) => r.a?.p999Us },
  { label: '(a) sequential calls/s', unit: 'calls/s', ratio: true, value: (r) => r.a?.callsPerSec },
  { label: '(a) scavenges per 10k calls, client', unit: 'count', ratio: false, value: (r) => r.a?.gc.client.scavengesPer10k },
  { label: '    scavenges per 10k calls, host', unit: 'count', ratio: false, value: (r) => r.a?.gc.host.scavengesPer10k },
  { label: '    scavenge pause (mean), client', unit: 'µs', ratio: false, value: (r) => r.a?.gc.client.scavengeMeanUs },
  { label: '    scavenge pause (mean), host', unit: 'µs', ratio: false, value: (r) => r.a?.gc.host.scavengeMeanUs },
  { label: '(a) calls > p99 during a GC pause', unit: '%', ratio: false, value: (r) => r.a && (100 * (r.a.gc.slowDuringClientGc + r.a.gc.slowDuringHostGc)) / Math.max(1, r.a.gc.slowCalls) },
  { label: '(b) 8 clients pipelined', unit: 'calls/s', ratio: true, value: (r) => r.b?.callsPerSec },
  { label: '(c) 1-op request', unit: 'µs', ratio: true, value: (r) => r.c?.oneUs },
  { label: '(c) 5-op chain, one request', unit: 'µs', ratio: true, value: (r) => r.c?.chainUs },
  { label: '(c) same 5 ops, five round trips', unit: 'µs', ratio: true, value: (r) => r.c?.fiveUs },
  { label: '(c) chain ÷ 1-op', unit: '×', ratio: false, value: (r) => r.c && r.c.chainUs / r.c.oneUs },
  { label: '(c) five round trips ÷ chain', unit: '×', ratio: false, value: (r) => r.c && r.c.fiveUs / r.c.chainUs },
  { label: '(d) 1 MiB mixed JSON echo', unit: 'MB/s', ratio: true, value: (r) => r.d?.jsonMBps },
  { label: '(d) 1 MiB Uint8Array echo', unit: 'MB/s', ratio: true, value: (r) => r.d?.bytesMBps },
  { label: '(d) host CPU per JSON + bytes echo', unit: 'ms', ratio: true, value: (r) => r.d?.hostCpuMsPerPair },
  { label: '    client CPU per JSON + bytes echo', unit: 'ms', ratio: true, value: (r) => r.d?.clientCpuMsPerPair },
  { label: '(d) JSON request bytes ÷ JSON text', unit: '×', ratio: false, value: (r) => r.d?.jsonWire },
  { label: '(d) bytes request bytes ÷ 1 MiB', unit: '×', ratio: false, value: (r) => r.d?.bytesWire },
  { label: '(e) host CPU per 100k calls, (b)', unit: 'ms', ratio: true, value: (r) => r.b?.hostCpuMsPer100k },
  { label: '    of which system (kernel)', unit: 'ms', ratio: true, value: (r) => r.b?.hostSystemMsPer100k },
  { label: '    client CPU per 100k calls, (b)', unit: 'ms', ratio: true, value: (r) => r.b?.clientCpuMsPer100k },
  { label: '(e) host CPU per 100k calls, (a)', unit: 'ms', ratio: true, value: (r) => r.a?.hostCpuMsPer100k },
  { label: '    client CPU per 100k calls, (a)', unit: 'ms', ratio: true, value: (r) => r.a?.clientCpuMsPer100k },
];

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

/** The targets of issue 15 that the existing cases measure (ratios of medians in this run). */
export function checkTargets(byImpl: Map<string, CaseResults[]>): TargetCheck[] {
  const raw = byImpl.get('raw') ?? [];
  const ro = byImpl.get('remoteobj') ?? [];
  const m = (runs: CaseResults[], label: string) => med(runs, ROWS.find((r) => r.label === label)!);
  const out: TargetCheck[] = [];
  const ratio = (what: string, label: string, limit: number, higherIsBetter: boolean, of = raw, ofName = 'raw') => {
    const x = m(ro, label) / m(of, label);
    if (!Number.isFinite(x)) return;
    out.push({ what, shown: `${x.toFixed(2)}× ${ofName}`, met: higherIsBetter ? x >= limit : x <= limit });
  };
  ratio('(a) p50 ≤ 1.1× raw', '(a) sequential tiny call, p50', 1.1, false);
  ratio('(a) p99 ≤ 1.3× raw', '(a) sequential tiny call, p99', 1.3, false);
  ratio('(b) 8-client throughput ≥ 0.9× raw', '(b) 8 clients pipelined', 0.9, true);
  ratio('(b) host CPU per call ≤ 1.2× raw', '(e) host CPU per 100k calls, (b)', 1.2, false);
  const secret = byImpl.get('remoteobj+secret') ?? [];
  if (secret.length) {
    // Line authentication (a mac line per batch each way) costs at most 10 % of (b).
    const x = m(secret, '(b) 8 clients pipelined') / m(ro, '(b) 8 clients pipelined');
    const cpu = m(secret, '(e) host CPU per 100k calls, (b)') / m(ro, '(e) host CPU per 100k calls, (b)');
    if (Number.isFinite(x)) out.push({ what: '(b) with a secret ≥ 0.9× without', shown: `${x.toFixed(2)}× without (host CPU ${cpu.toFixed(2)}×)`, met: x >= 0.9 });
  }
  const chain = m(ro, '(c) chain ÷ 1-op');
  if (Number.isFinite(chain)) out.push({ what: '(c) 5-op chain ≤ 1.2× a 1-op call', shown: `${chain.toFixed(2)}×`, met: chain <= 1.2 });
  const five = m(ro, '(c) five round trips ÷ chain');
  if (Number.isFinite(five)) out.push({ what: '(c) chain ≥ 3× faster than five round trips', shown: `${five.toFixed(2)}× faster`, met: five >= 3 });
  ratio('(d) 1 MiB JSON echo ≥ 0.9× raw MB/s', '(d) 1 MiB mixed JSON echo', 0.9, true);
  ratio('(d) 1 MiB bytes echo ≥ 0.95× raw MB/s', '(d) 1 MiB Uint8Array echo', 0.95, true);
  const bytes = m(ro, '(d) bytes request bytes ÷ 1 MiB');
  // base64 of 1 MiB is 4/3 of it; a request line adds a few dozen bytes of envelope.
  if (Number.isFinite(bytes)) out.push({ what: '(d) bytes on the wire ≤ 4/3 (+ envelope)', shown: `${bytes.toFixed(4)}×`, met: bytes <= 4 / 3 + 256 / (1 << 20) });
  const vs = byImpl.get('vscode-jsonrpc') ?? [];
  if (vs.length) {
    const a = m(ro, '(a) sequential tiny call, p50');
    const b = m(vs, '(a) sequential tiny call, p50');
    if (Number.isFinite(a / b)) out.push({ what: '(a) faster than vscode-jsonrpc (p50)', shown: `${fmt(a)} vs ${fmt(b)} µs`, met: a < b });
  }
  return out;
}

export function renderTargets(byImpl: Map<string, CaseResults[]>): string {
  const out: string[] = ['targets of issue 15 (remoteobj, medians of this run):'];
  for (const t of checkTargets(byImpl)) out.push(`  ${pad(t.what, 46)} ${pad(t.shown, 36)} ${t.met ? 'met' : 'MISSED'}`);
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
