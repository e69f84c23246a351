/**
 * The host side of the demo (scripts/demo.ts starts it as a child process): the seed's Counter,
 * served on the socket path given in argv[2]. It counts while `on`; once a client sets `stop`,
 * it closes the host (which removes the socket file) and the process ends by itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '../src/index';

export class Counter {
  count = 0;
  on = false;
  stop = false;
  readonly startedAt = new Date();

  /** Returns the counter itself, so a client can chain on: `remote.toggle(false).count`. */
  toggle(state = true): this {
    this.on = state;
    return this;
  }

  setCount(value: number): void {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`count must be a whole number >= 0, got ${value}`);
    this.count = value;
  }

  info(): { pid: number; startedAt: Date } {
    return { pid: process.pid, startedAt: this.startedAt };
  }
}

const say = (text: string) => console.log(`  [host ${process.pid}] ${text}`);

async function main(): Promise<void> {
  const socketPath = process.argv[2];
  if (!socketPath) throw new Error('usage: demo-host.ts <socket path>');
  const counter = new Counter();
  const host = await serve(counter, socketPath);
  say(`serving a Counter on ${host.path}`);
  while (!counter.stop) {
    if (counter.on) counter.count++;
    await sleep(20);
  }
  say(`stop is set (count ended at ${counter.count}): closing the host`);
  await host.close();
  say('host closed; exiting');
}

// Only when run as a program: scripts/demo.ts imports the Counter type from here.
if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
