/**
 * The V8 CPU profiler (the one behind `node --cpu-prof`), started and stopped from inside the
 * process through node:inspector, so a profile covers exactly a case's timed part: no start-up,
 * module loading or warm-up in the figures.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';

let session: inspector.Session | undefined;

function post<T = unknown>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session!.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

export async function startProfile(intervalUs = 100): Promise<void> {
  session ??= new inspector.Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: intervalUs });
  await post('Profiler.start');
}

/** Stop and write the profile (a .cpuprofile, as --cpu-prof writes). */
export async function stopProfile(file: string): Promise<void> {
  const { profile } = await post<{ profile: object }>('Profiler.stop');
  await post('Profiler.disable');
  session!.disconnect();
  fs.writeFileSync(file, JSON.stringify(profile));
}

/**
 * CPU time of this process's main (JavaScript) thread in µs: Linux's per-thread schedstat, so the
 * profiler's own sampling thread is not counted; elsewhere process.cpuUsage() (all threads).
 */
export function mainThreadCpuUs(): number {
  try {
    const ns = Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return ns / 1000;
  } catch {
    /* not Linux */
  }
  const u = process.cpuUsage();
  return u.user + u.system;
}
