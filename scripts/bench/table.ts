/** The benchmark's output: the side-by-side table, the targets of issue 6, and the memory check. */
import type { CaseResults } from './cases';
import { fmt, fmtMiB, median } from './stats';
import type { MemSample } from './worker';

export interface Row {
  label: string;
  unit: string;
  value(r: CaseResults): number | undefined;
  /** Show the ratio to raw in each cell. */
  ratio: boolean;
}

export const ROWS: Row[] = [
  { label: '(a) sequential tiny call, p50', unit: 'µs', ratio: true, value: (r) => r.a?.p50Us },
  { label: '(a) sequential tiny call, p99', unit: 'µs', ratio: true, value: (r) => r.a?.p99Us },
  { label: '(a) sequential calls/s', unit: 'calls/s', ratio: true, value: (r) => r.a?.callsPerSec },
  { label: '(b) 8 clients pipelined', unit: 'calls/s', ratio: true, value: (r) => r.b?.callsPerSec },
  { label: '(c) 1-op request', unit: 'µs', ratio: true, value: (r) => r.c?.oneUs },
  { label: '(c) 5-op chain, one request', unit: 'µs', ratio: true, value: (r) => r.c?.chainUs },
  { label: '(c) same 5 ops, five round trips', unit: 'µs', ratio: true, value: (r) => r.c?.fiveUs },
  { label: '(c) chain ÷ 1-op', unit: '×', ratio: false, value: (r) => r.c && r.c.chainUs / r.c.oneUs },
  { label: '(c) five round trips ÷ chain', unit: '×', ratio: false, value: (r) => r.c && r.c.fiveUs / r.c.chainUs },
  { label: '(d) 1 MiB mixed JSON echo', unit: 'MB/s', ratio: true, value: (r) => r.d?.jsonMBps },
  { label: '(d) 1 MiB Uint8Array echo', unit: 'MB/s', ratio: true, value: (r) => r.d?.bytesMBps },
  { label: '(d) JSON request bytes ÷ JSON text', unit: '×', ratio: false, value: (r) => r.d?.jsonWire },
  { label: '(d) bytes request bytes ÷ 1 MiB', unit: '×', ratio: false, value: (r) => r.d?.bytesWire },
  { label: '(e) host CPU per 100k calls, (b)', unit: 'ms', ratio: true, value: (r) => r.b?.hostCpuMsPer100k },
  { label: '    of which system (kernel)', unit: 'ms', ratio: true, value: (r) => r.b?.hostSystemMsPer100k },
  { label: '    client CPU per 100k calls, (b)', unit: 'ms', ratio: true, value: (r) => r.b?.clientCpuMsPer100k },
  { label: '(e) host CPU per 100k calls, (a)', unit: 'ms', ratio: true, value: (r) => r.a?.hostCpuMsPer100k },
  { label: '    client CPU per 100k calls, (a)', unit: 'ms', ratio: true, value: (r) => r.a?.clientCpuMsPer100k },
];

/** Median over runs of one row for one implementation. */
function med(runs: CaseResults[], row: Row): number {
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

export function renderTargets(byImpl: Map<string, CaseResults[]>): string {
  const raw = byImpl.get('raw') ?? [];
  const ro = byImpl.get('remoteobj') ?? [];
  const vs = byImpl.get('vscode-jsonrpc') ?? [];
  const m = (runs: CaseResults[], label: string) => med(runs, ROWS.find((r) => r.label === label)!);
  const out: string[] = ['targets (remoteobj, medians of this run):'];
  const line = (what: string, shown: string, ok: boolean) => out.push(`  ${pad(what, 46)} ${pad(shown, 24)} ${ok ? 'met' : 'MISSED'}`);
  const p50 = m(ro, '(a) sequential tiny call, p50') / m(raw, '(a) sequential tiny call, p50');
  line('(a) p50 ≤ 1.3× raw', `${p50.toFixed(2)}× raw`, p50 <= 1.3);
  if (vs.length) {
    const a = m(ro, '(a) sequential tiny call, p50');
    const b = m(vs, '(a) sequential tiny call, p50');
    line('(a) faster than vscode-jsonrpc (p50)', `${fmt(a)} vs ${fmt(b)} µs`, a < b);
  }
  const conc = m(ro, '(b) 8 clients pipelined') / m(raw, '(b) 8 clients pipelined');
  line('(b) 8-client throughput ≥ 0.7× raw', `${conc.toFixed(2)}× raw`, conc >= 0.7);
  const secret = byImpl.get('remoteobj+secret') ?? [];
  if (secret.length) {
    // Issue 15: line authentication (a mac line per batch each way) costs at most 10 % of (b).
    const withSecret = m(secret, '(b) 8 clients pipelined') / m(ro, '(b) 8 clients pipelined');
    line('(b) with a secret ≥ 0.9× without', `${withSecret.toFixed(2)}× without`, withSecret >= 0.9);
  }
  const chain = m(ro, '(c) chain ÷ 1-op');
  line('(c) 5-op chain ≤ 1.2× a 1-op call', `${chain.toFixed(2)}×`, chain <= 1.2);
  const five = m(ro, '(c) five round trips ÷ chain');
  line('(c) chain ≥ 3× faster than five round trips', `${five.toFixed(2)}× faster`, five >= 3);
  const json = m(raw, '(d) 1 MiB mixed JSON echo') / m(ro, '(d) 1 MiB mixed JSON echo');
  line('(d) 1 MiB JSON time ≤ 1.5× raw', `${json.toFixed(2)}× raw time`, json <= 1.5);
  const bytes = m(ro, '(d) bytes request bytes ÷ 1 MiB');
  // base64 of 1 MiB is 4/3 of it; a request line adds a few dozen bytes of envelope.
  line('(d) bytes on the wire ≤ 4/3 (+ envelope)', `${bytes.toFixed(4)}×`, bytes <= 4 / 3 + 256 / (1 << 20));
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
