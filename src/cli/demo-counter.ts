/**
 * The counter of the original remoteobj's full example, as a module for `remoteobj serve`
 * (used by `remoteobj demo`): it counts every 0.1 s while `on`, and once a client sets `stop`
 * it closes its host, which ends the serving process.
 */
import type { ServeControl } from './load-module';

export class Counter {
  count = 0;
  on = false;
  stop = false;

  toggle(state = true): void {
    this.on = state;
  }
}

/** The factory `remoteobj serve` calls: start the counting loop, hand back the object to host. */
export default function createCounter(control: ServeControl): Counter {
  const counter = new Counter();
  const timer = setInterval(() => {
    if (counter.stop) {
      clearInterval(timer);
      void control.close();
    } else if (counter.on) {
      counter.count++;
    }
  }, 100);
  control.signal.addEventListener('abort', () => clearInterval(timer));
  return counter;
}
