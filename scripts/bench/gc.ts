/**
 * GC pauses of a process over a case's timed part, from perf_hooks' 'gc' entries (the same events
 * --trace-gc prints), with absolute start times so the worker can line them up with its calls:
 * case (a) reports how many scavenges and mark-compacts each side ran per 10,000 calls, their
 * pauses, and how many of the calls slower than p99 overlapped a pause (where the tail comes from).
 */
import { constants, type PerformanceEntry, PerformanceObserver, performance } from 'node:perf_hooks';

/** One pause: [start, end] in ms since the epoch (performance.timeOrigin-based), and whether it was a scavenge. */
export interface GcPause {
  start: number;
  end: number;
  minor: boolean;
}

let observer: PerformanceObserver | undefined;
let pauses: GcPause[] = [];

export function startGcRecording(): void {
  pauses = [];
  observer?.disconnect();
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const start = performance.timeOrigin + e.startTime;
      pauses.push({ start, end: start + e.duration, minor: e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** Stop and return the pauses seen since startGcRecording() (entries are delivered late: wait a tick first). */
export async function stopGcRecording(): Promise<GcPause[]> {
  await new Promise((r) => setImmediate(r));
  const out = pauses;
  observer?.disconnect();
  observer = undefined;
  pauses = [];
  return out;
}

export interface GcSummary {
  /** Scavenges (minor GCs) per 10,000 calls, and their mean pause in µs. */
  scavengesPer10k: number;
  scavengeMeanUs: number;
  /** Mark-compacts and other major GCs per 10,000 calls, and their mean pause in µs. */
  majorPer10k: number;
  majorMeanUs: number;
}

export function summarizeGc(pauses: GcPause[], calls: number): GcSummary {
  const minor = pauses.filter((p) => p.minor);
  const major = pauses.filter((p) => !p.minor);
  const mean = (ps: GcPause[]) => (ps.length ? (ps.reduce((s, p) => s + (p.end - p.start), 0) / ps.length) * 1000 : 0);
  return {
    scavengesPer10k: (minor.length * 10_000) / calls,
    scavengeMeanUs: mean(minor),
    majorPer10k: (major.length * 10_000) / calls,
    majorMeanUs: mean(major),
  };
}

/** How many of the calls [start, end) (absolute ms) overlap at least one pause. */
export function overlapping(calls: { start: number; end: number }[], pauses: GcPause[]): number {
  const sorted = [...pauses].sort((a, b) => a.start - b.start);
  let n = 0;
  for (const c of calls) if (sorted.some((p) => p.start < c.end && p.end > c.start)) n++;
  return n;
}
