/**
 * The benchmark writes its own results into docs/performance.md (between two markers) and the
 * plot next to it, so the figures in the docs are always a real run's, with its commit and date.
 */
import fs from 'node:fs';
import type { CaseResults } from './cases';
import type { InterleavedResult } from './interleaved';
import { checkTargets, med, PAIR_ROWS, pairCell, ROWS } from './table';
import type { PairResults } from './pairs';
import { fmt } from './stats';
import { IN_CLIENT_PROCESS } from './impls/names';

export const START = '<!-- bench:results:start (written by npm run bench; do not edit by hand) -->';
export const END = '<!-- bench:results:end -->';

function cell(v: number, raw: number, ratio: boolean, unit: string, label = ''): string {
  if (!Number.isFinite(v)) return 'n/a';
  // Bytes on the wire are read to the fourth digit (4/3 = 1.3333), as in the printed table.
  const text = unit === '×' ? v.toFixed(label.includes('request bytes') ? 4 : 2) : fmt(v);
  return ratio && Number.isFinite(raw) && raw !== v ? `${text} (${(v / raw).toFixed(2)}×)` : text;
}

export function resultsMarkdown(
  header: string,
  impls: string[],
  byImpl: Map<string, CaseResults[]>,
  pairs: PairResults[],
  interleaved: Record<string, InterleavedResult> | undefined, svgName: string | undefined): string {
  const out: string[] = [header, ''];
  out.push(`| case | unit | ${impls.join(' | ')} |`, `|---|---|${impls.map(() => '---:').join('|')}|`);
  for (const row of ROWS) {
    const raw = med(byImpl.get('raw') ?? [], row);
    const cells = impls.map((i) => (row.host && IN_CLIENT_PROCESS.includes(i) ? 'in client' : row.socket && IN_CLIENT_PROCESS.includes(i) ? 'no socket' : cell(med(byImpl.get(i) ?? [], row), raw, row.ratio && i !== 'raw', row.unit, row.label)));
    if (cells.every((c) => c === 'n/a')) continue;
    out.push(`| ${row.label.trim()} | ${row.unit} | ${cells.join(' | ')} |`);
  }
  if (pairs.length) {
    out.push('', 'Paired cases (e)–(m): remoteobj beside its baseline, taken in turns in one client process ((m): one per side; a fresh worker and fresh hosts for each case of each run; medians of runs):', '');
    out.push('| case | unit | figure (ratio to its baseline) |', '|---|---|---:|');
    for (const row of PAIR_ROWS) out.push(`| ${row.label} | ${row.unit} | ${pairCell(pairs, row)} |`);
  }
  out.push('', 'Targets of issue 15 (remoteobj, medians of this run):', '');
  for (const t of checkTargets(byImpl, pairs)) out.push(`- ${t.what}: ${t.shown} — ${t.met ? 'met' : '**missed**'}`);
  if (interleaved) {
    const names = Object.keys(interleaved);
    const raw = interleaved.raw;
    out.push('', 'Case (a) taken in turns (every implementation in one client process, one call each in turn, so all meet the same neighbours):', '');
    out.push(`| percentile | ${names.join(' | ')} |`, `|---|${names.map(() => '---:').join('|')}|`);
    for (const [label, key] of [['p50', 'p50Us'], ['p90', 'p90Us'], ['p99', 'p99Us'], ['p99.9', 'p999Us']] as const) {
      out.push(`| ${label} (µs) | ${names.map((n) => cell(interleaved[n]![key], raw?.[key] ?? NaN, n !== 'raw', 'µs')).join(' | ')} |`);
    }
    out.push(`| calls > p99 during a GC pause (client + host) | ${names.map((n) => `${interleaved[n]!.slowDuringClientGc} + ${interleaved[n]!.slowDuringHostGc} of ${interleaved[n]!.slowCalls}`).join(' | ')} |`);
    if (svgName) out.push('', `![Latency percentiles of the sequential tiny call, taken in turns](${svgName})`);
  }
  return out.join('\n');
}

/** Replace what is between the markers in `file` with `markdown`. */
export function writeResults(file: string, markdown: string): void {
  const text = fs.readFileSync(file, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file} has no ${START} … ${END} section`);
  fs.writeFileSync(file, text.slice(0, a + START.length) + '\n\n' + markdown + '\n\n' + text.slice(b));
}
