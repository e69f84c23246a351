/**
 * The benchmark must not rot: its quick pass runs every implementation through every case, the
 * paired cases (e)–(m) and the memory check, and prints every row of both tables with a figure in
 * each cell, and every target's line. No timing is asserted (this is a shared 2-core machine):
 * only that the harness works end to end (the paired cases also check what they got back).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IMPL_NAMES } from '../scripts/bench/impls/names';
import { PAIR_CASES } from '../scripts/bench/pairs';
import { PAIR_ROWS, ROWS } from '../scripts/bench/table';
import { exited, killChildren, spawnTs } from './helpers';

afterEach(killChildren);

test('npm run bench -- --quick prints every row for every implementation, the paired cases (e)–(m), the targets, the interleaved tails, the plot and the memory check', async () => {
  const json = path.join(os.tmpdir(), `ro-bench-smoke-${process.pid}.json`);
  const svg = path.join(os.tmpdir(), `ro-bench-smoke-${process.pid}.svg`);
  // src/ through ts-node, so the smoke needs no build.
  const child = spawnTs('scripts/bench/run.ts', ['--quick', '--lib', 'src', '--json', json, '--svg', svg]);
  const { code } = await exited(child);
  const out = child.output();
  try {
    expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining('total ') });
    expect(out).toMatch(/Node v\d+\.\d+\.\d+, .*\d+ CPUs.*1 fresh run per implementation/);
    const header = out.split('\n').find((l) => l.startsWith('case '))!;
    for (const name of IMPL_NAMES) expect(header).toContain(name);
    for (const row of ROWS) {
      const line = out.split('\n').find((l) => l.startsWith(row.label));
      expect(line).toBeDefined();
      expect(line).not.toContain('n/a');
      expect(line!.slice(row.label.length).trim().split(/\s{2,}/)).toHaveLength(1 + IMPL_NAMES.length); // unit + one cell each
    }
    // The paired cases: every row with a figure (the ratio rows with their ratio), and every target's line.
    // (l) needs a baseline build (--base): the test below.
    expectPairRows(out, PAIR_ROWS.filter((row) => !row.label.startsWith('(l)')));
    expect(out).toContain('targets of issue 15 (remoteobj');
    const targets = out.slice(out.indexOf('targets of issue 15'));
    for (const what of ['(b) handshake binding costs ≤ 10 %', '(b) handshake binding ≤ 10 %, tls://', '(e) callback', '(f) stream', '(g) chain on a handle', '(g) open + release', '(h) a cancelled', '(i) tls://', '(j) port call']) {
      expect(targets).toMatch(new RegExp(`${what.replace(/[()+]/g, '\\$&')}.*(met|MISSED)`));
    }
    // Case (a) taken in turns by every implementation, and its plot (vega-lite, rendered to SVG here).
    const interleaved = out.split('\n').find((l) => l.startsWith('p99.9 µs'));
    expect(interleaved?.trim().split(/\s{2,}/)).toHaveLength(1 + IMPL_NAMES.length);
    const plot = fs.readFileSync(svg, 'utf8');
    expect(plot).toMatch(/^<svg[^>]*>/);
    for (const name of IMPL_NAMES) expect(plot).toContain(`>${name}<`);
    expect(out).toMatch(/heap from [\d,]+ to 2,000 calls/);
    // The machine-readable results hold every case for every implementation.
    const saved = JSON.parse(fs.readFileSync(json, 'utf8')) as { results: Record<string, Record<string, unknown>[]>; pairs: Record<string, unknown>[]; interleaved?: Record<string, unknown> };
    for (const name of IMPL_NAMES) expect(Object.keys(saved.results[name]![0]!).sort()).toEqual(['a', 'b', 'c', 'd']);
    // (k) runs twice: over the Unix socket (k) and over tls:// (kTls).
    expect(Object.keys(saved.pairs[0]!).sort()).toEqual([...PAIR_CASES.filter((c) => c !== 'l'), 'kTls'].sort());
    expect(Object.keys(saved.interleaved ?? {})).toEqual([...IMPL_NAMES]);
  } finally {
    fs.rmSync(json, { force: true });
    fs.rmSync(svg, { force: true });
  }
}, 300_000); // ~20 fresh processes and worker threads: ~20 s on a quiet machine; 141 s measured at a load average of 17 on the 2 cores

test('npm run bench -- --quick --cases l --base <a build>: this build and the baseline build take turns in (a)–(d), and issue 12\'s lines are judged', async () => {
  // The checkout's own dist/ (npm test builds it first) stands in for another build.
  const root = path.join(__dirname, '..');
  expect(fs.existsSync(path.join(root, 'dist', 'index.js'))).toBe(true);
  const child = spawnTs('scripts/bench/run.ts', ['--quick', '--lib', 'src', '--cases', 'l', '--base', root]);
  const { code } = await exited(child);
  const out = child.output();
  expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining('total ') });
  expectPairRows(out, PAIR_ROWS.filter((row) => row.label.startsWith('(l)')));
  const targets = out.slice(out.indexOf('targets of issue 15'));
  for (const what of ['(a) p50', '(b)', '(c) 1-op', '(c) chain', '(d) JSON', '(d) bytes']) {
    expect(targets).toMatch(new RegExp(`\\(l\\) ${what.replace(/[()+]/g, '\\$&')} [≤≥] .* baseline build .*(met|MISSED)`));
  }
}, 300_000);

/** Every row printed with a figure (the ratio rows with their ratio). */
function expectPairRows(out: string, rows: readonly { label: string; vs?: unknown }[]): void {
  for (const row of rows) {
    // The label, then the column gap (no label is another's prefix followed by two spaces).
    const line = out.split('\n').find((l) => l.trimStart().startsWith(`${row.label}  `));
    expect(line).toBeDefined();
    expect(line).not.toContain('n/a');
    if (row.vs) expect(line).toMatch(/\(\d+\.\d\d× /);
  }
}
