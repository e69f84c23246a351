/**
 * A benchmark host process: serves a BenchTarget with one implementation on a socket path, and
 * answers its parent (the worker) over the fork IPC channel with CPU and memory readings.
 * Usage (forked by worker.ts): host.ts <impl> <socket path>
 */
import { implByName } from './impls';
import { mainThreadCpuUs, startProfile, stopProfile } from './profiler';
import { BenchTarget } from './target';
import { type GcPause, startGcRecording, stopGcRecording } from './gc';

export type HostCommand =
  | { seq: number; cmd: 'cpu' | 'mem' | 'profile-start' | 'thread-cpu' | 'gc-start' | 'gc-stop' | 'release-hold' }
  | { seq: number; cmd: 'profile-stop'; file: string }
  // Case (h): answer (with the CPU reading of that moment) once exactly `n` requests wait for the
  // lock; with `collect`, after a full collection (inside the reading).
  | { seq: number; cmd: 'wait-queued'; n: number; held?: boolean; collect?: boolean };
export type HostReply = { seq: number; cpu?: NodeJS.CpuUsage; mem?: NodeJS.MemoryUsage; threadCpuUs?: number; gc?: GcPause[] };

async function main(): Promise<void> {
  const [implName, path] = process.argv.slice(2);
  if (!implName || !path || !process.send) throw new Error('usage: forked as host.ts <impl> <socket path>');
  const target = new BenchTarget();
  const server = await implByName(implName).serve(target, path);
  process.on('message', (m: HostCommand) => {
    if (m.cmd === 'release-hold') {
      target.releaseHold();
      process.send!({ seq: m.seq } satisfies HostReply);
    }
    if (m.cmd === 'wait-queued') {
      // Checked every millisecond: a timer's turn costs the host a few µs, spread over the
      // hundreds of requests each wait is for (cases.ts caseCancel).
      if (!server.queued) throw new Error(`${implName} cannot tell how many requests wait`);
      const check = () => {
        if (server.queued!() === m.n && (!m.held || target.holding)) {
          if (m.collect) global.gc?.();
          process.send!({ seq: m.seq, cpu: process.cpuUsage() } satisfies HostReply);
        } else setTimeout(check, 1);
      };
      check();
    }
    if (m.cmd === 'cpu') process.send!({ seq: m.seq, cpu: process.cpuUsage() } satisfies HostReply);
    if (m.cmd === 'mem') {
      // Two full collections, so what remains is what is really retained.
      global.gc?.();
      global.gc?.();
      process.send!({ seq: m.seq, mem: process.memoryUsage() } satisfies HostReply);
    }
    if (m.cmd === 'thread-cpu') process.send!({ seq: m.seq, threadCpuUs: mainThreadCpuUs() } satisfies HostReply);
    if (m.cmd === 'gc-start') {
      startGcRecording();
      process.send!({ seq: m.seq } satisfies HostReply);
    }
    if (m.cmd === 'gc-stop') void stopGcRecording().then((gc) => process.send!({ seq: m.seq, gc } satisfies HostReply));
    if (m.cmd === 'profile-start') void startProfile().then(() => process.send!({ seq: m.seq } satisfies HostReply));
    if (m.cmd === 'profile-stop') void stopProfile(m.file).then(() => process.send!({ seq: m.seq } satisfies HostReply));
  });
  // The worker going away (normally or not) ends the host.
  process.once('disconnect', () => void server.close().finally(() => process.exit(0)));
  process.send({ ready: true, address: server.address ?? path });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
