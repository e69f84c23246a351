/**
 * The SVG plot of latency percentiles (p50, p90, p99, p99.9 of the sequential tiny call) for raw,
 * remoteobj and the peers, drawn by the benchmark itself with vega-lite (compiled to a vega spec)
 * and vega's headless SVG renderer: no browser, no canvas. docs/performance.md shows the file.
 */
import type { InterleavedResult } from './interleaved';

/** vega and vega-lite are ES modules with top-level await: load them with a real import() (this file is compiled to CommonJS). */
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<any>;

const PERCENTILES = [
  ['p50', 'p50Us'],
  ['p90', 'p90Us'],
  ['p99', 'p99Us'],
  ['p99.9', 'p999Us'],
] as const;

export async function latencySvg(results: Record<string, InterleavedResult>, subtitle: string): Promise<string> {
  const [vega, vl] = await Promise.all([importEsm('vega'), importEsm('vega-lite')]);
  const impls = Object.keys(results);
  const values = impls.flatMap((impl) => PERCENTILES.map(([p, key], i) => ({ impl, percentile: p, order: i, us: results[impl]![key] })));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Sequential tiny call: latency percentiles', subtitle },
    width: 520,
    height: 300,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'percentile', type: 'ordinal', sort: PERCENTILES.map(([p]) => p), title: 'percentile', axis: { labelAngle: 0 } },
      y: { field: 'us', type: 'quantitative', scale: { type: 'log' }, title: 'latency (µs, log scale)' },
      color: { field: 'impl', type: 'nominal', sort: impls, title: 'implementation' },
      tooltip: [{ field: 'impl' }, { field: 'percentile' }, { field: 'us', format: '.1f' }],
    },
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg: string = await view.toSVG();
  view.finalize();
  return svg;
}
