/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and tells where the time went: self time per function,
 * total (inclusive) time per function, and self time per category of remoteobj's request path.
 */
import fs from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionTime {
  name: string;
  where: string;
  category: string;
  selfUs: number;
  totalUs: number;
}

export interface ProfileSummary {
  /** Sampled time, idle excluded, in µs. */
  busyUs: number;
  idleUs: number;
  functions: FunctionTime[];
  categories: { category: string; selfUs: number }[];
}

/** Which part of the request path a frame belongs to, from its script and name. */
export function categoryOf(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const name = frame.functionName;
  if (name === '(idle)') return 'idle';
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native (program)';
  if (/JSON|stringify|parse/.test(name) && url === '') return 'JSON builtins';
  if (url.includes('/node_modules/zod/')) return 'zod validation';
  if (url.includes('/node_modules/serialize-error/')) return 'serialize-error';
  const rel = url.match(/\/(?:dist|src)\/(.+)\.(?:js|ts)$/)?.[1];
  if (rel && !url.includes('node_modules')) {
    const byFile: Record<string, string> = {
      'client/proxy': 'client proxy',
      'client/connection': 'client connection',
      'protocol/codec': 'codec encode/decode',
      'protocol/messages': 'zod validation',
      'protocol/error-wire': 'errors',
      'host/session': 'host session',
      'host/host': 'host (enqueue/accept)',
      'host/lock': 'lock',
      evaluate: 'evaluate ops',
      access: 'access checks',
      'transport/lines': 'NDJSON framing',
    };
    return byFile[rel] ?? `remoteobj ${rel}`;
  }
  if (url.includes('/scripts/bench/') || url.includes('remoteobj-bench')) return 'bench harness';
  if (/^node:(net|stream|internal\/stream|internal\/streams|internal\/net)/.test(url) || /stream_base|net\b/.test(url)) return 'socket/streams (node)';
  if (/^node:internal\/process\/task_queues|^node:internal\/timers|^node:timers/.test(url)) return 'ticks/timers (node)';
  if (/^node:internal\/(util\/inspect|util)/.test(url)) return 'util.inspect (node)';
  if (url.startsWith('node:')) return `node ${url.slice(5).replace(/^internal\//, '')}`;
  if (url === '') return `native ${name || '(anonymous)'}`;
  return path.basename(url);
}

export function summarize(file: string): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; charge each sample the delta that follows it.
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i + 1] ?? 0;
    self.set(prof.samples[i]!, (self.get(prof.samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (f: CallFrame) => `${f.functionName || '(anonymous)'}\u0000${f.url}:${f.lineNumber + 1}`;
  const fns = new Map<string, FunctionTime>();
  let idleUs = 0;
  let busyUs = 0;
  for (const n of prof.nodes) {
    const t = self.get(n.id) ?? 0;
    if (t === 0) continue;
    if (n.callFrame.functionName === '(idle)') {
      idleUs += t;
      continue;
    }
    busyUs += t;
    // Self time to this function; total time to every distinct function on its stack.
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      const k = key(f);
      if (seen.has(k)) continue;
      seen.add(k);
      let e = fns.get(k);
      if (!e) {
        e = { name: f.functionName || '(anonymous)', where: `${f.url.replace(/^.*\/(dist|src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`, category: categoryOf(f), selfUs: 0, totalUs: 0 };
        fns.set(k, e);
      }
      if (id === n.id) e.selfUs += t;
      e.totalUs += t;
    }
  }
  const cats = new Map<string, number>();
  for (const f of fns.values()) if (f.selfUs > 0) cats.set(f.category, (cats.get(f.category) ?? 0) + f.selfUs);
  return {
    busyUs,
    idleUs,
    functions: [...fns.values()].filter((f) => f.name !== '(root)'),
    categories: [...cats].map(([category, selfUs]) => ({ category, selfUs })).sort((a, b) => b.selfUs - a.selfUs),
  };
}
