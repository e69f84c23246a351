/**
 * How much CPU time the hypervisor took from this VM during a run ("steal" in /proc/stat: time a
 * virtual CPU was ready to run but the host ran something else). On the 2-core VM the benchmark
 * is developed on, the same build's figures move by 10–30 % between runs minutes apart with
 * nothing else running in the VM; this says how busy the neighbours were. Linux only.
 */
import fs from 'node:fs';

export interface CpuTimes {
  /** Jiffies spent running (user, nice, system, irq, softirq), all CPUs. */
  busy: number;
  /** Jiffies stolen by the hypervisor, all CPUs. */
  steal: number;
}

/** The VM's CPU times now, or undefined where /proc/stat is not there (not Linux). */
export function cpuTimes(): CpuTimes | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const f = text.split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((n) => !Number.isFinite(n))) return undefined;
  return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, steal: f[7]! };
}

/** "steal 3.2 % of the CPU time asked for" between two readings; '' when unknown. */
export function stealText(from: CpuTimes | undefined, to: CpuTimes | undefined = cpuTimes()): string {
  if (!from || !to) return '';
  const steal = to.steal - from.steal;
  const asked = to.busy - from.busy + steal;
  if (asked <= 0) return '';
  return `the hypervisor took ${((100 * steal) / asked).toFixed(1)} % of the CPU time this VM asked for (steal, /proc/stat)`;
}
