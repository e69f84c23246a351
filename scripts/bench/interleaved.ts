/**
 * Case (a) interleaved: one client process holds a connection to every implementation's host and
 * makes the tiny sequential call on each in turn (raw, remoteobj, the peers, raw, remoteobj, ...),
 * so every implementation meets the same neighbours at the same moments. On a shared machine
 * the tail of a run of its own (p99, p99.9) mostly measures who else ran during that run; taken
 * in turns, the tails compare what the implementations themselves add. Also lines the calls
 * slower than p99 up with both sides' GC pauses.
 *
 * `block` calls in a row per turn (1: every call alternates). Case (j) takes its turns in blocks:
 * there the three implementations' worker threads share the client's CPU, and alternating every
 * call measured each with the other two's code and data in the caches (raw postMessage itself 28
 * against 20–22 µs in blocks of 100; remoteobj and Comlink 46–47 against 24–31). A caller makes
 * its calls in a row; blocks of 100 (a few ms each) still share the machine's noise. (j) also
 * warms up for as many calls as it measures (worker.ts says why).
 */
import { performance } from 'node:perf_hooks';
import type { HostGc } from './cases';
import { overlapping, startGcRecording, stopGcRecording, summarizeGc, type GcSummary } from './gc';
import type { BenchClient } from './impls/types';
import { percentile } from './stats';

export interface InterleavedResult {
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  /** GC of the host (the client process is shared: its pauses are counted per implementation's calls). */
  hostGc: GcSummary;
  slowCalls: number;
  slowDuringClientGc: number;
  slowDuringHostGc: number;
}

export interface Side {
  impl: string;
  client: BenchClient;
  gc: HostGc;
}

export async function caseInterleaved(sides: Side[], calls: number, warm: number, block = 1): Promise<Record<string, InterleavedResult>> {
  for (let i = 0; i < warm; i++) for (const s of sides) await s.client.add(1);
  const lat = sides.map(() => new Float64Array(calls));
  const starts = sides.map(() => new Float64Array(calls));
  for (const s of sides) await s.gc.start();
  startGcRecording();
  for (let from = 0, turn = 0; from < calls; from += block, turn++) {
    const to = Math.min(calls, from + block);
    // Rotate who goes first, so no implementation always follows the same one.
    for (let k = 0; k < sides.length; k++) {
      const j = (turn + k) % sides.length;
      const client = sides[j]!.client;
      for (let i = from; i < to; i++) {
        const t = performance.now();
        await client.add(1);
        lat[j]![i] = performance.now() - t;
        starts[j]![i] = t;
      }
    }
  }
  const clientPauses = await stopGcRecording();
  const out: Record<string, InterleavedResult> = {};
  for (let j = 0; j < sides.length; j++) {
    const hostPauses = await sides[j]!.gc.stop();
    const l = lat[j]!;
    const p99 = percentile(l, 99);
    const slow: { start: number; end: number }[] = [];
    for (let i = 0; i < calls; i++) if (l[i]! > p99) slow.push({ start: performance.timeOrigin + starts[j]![i]!, end: performance.timeOrigin + starts[j]![i]! + l[i]! });
    out[sides[j]!.impl] = {
      p50Us: percentile(l, 50) * 1000,
      p90Us: percentile(l, 90) * 1000,
      p99Us: p99 * 1000,
      p999Us: percentile(l, 99.9) * 1000,
      hostGc: summarizeGc(hostPauses, calls),
      slowCalls: slow.length,
      slowDuringClientGc: overlapping(slow, clientPauses),
      slowDuringHostGc: overlapping(slow, hostPauses),
    };
  }
  return out;
}
