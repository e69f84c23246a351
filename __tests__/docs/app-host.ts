/**
 * The service the docs' shell examples talk to: `/run/app.sock` (and `/run/a.sock`,
 * `/run/b.sock` in recipes that copy between two services). The docs test serves a fresh one
 * (from its own process, on a socket in the block's directory) for each block that names one of
 * these paths. Add a member here when a doc needs one.
 */
class ValidationError extends Error {
  override name = 'ValidationError';
  code = 'E_INVALID';
}

class Cache {
  stats = { hits: 3, misses: 1 };
  entries = new Map([
    ['a', 1],
    ['b', 2],
  ]);
  get size() {
    return this.entries.size;
  }
  clear() {
    this.entries.clear();
    this.stats.hits = 0;
  }
}

class Queue {
  paused = false;
  items = ['job1', 'job2'];
  /** Each job as it is taken, `limit` of them: a stream, for `remoteobj watch` (docs/cli.md). */
  async *watch(limit = Infinity) {
    for (let n = 1; n <= limit; n++) yield { n, job: this.items[(n - 1) % this.items.length] };
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
}

export class App {
  name = 'app';
  config: { level: string; sticky?: boolean } = { level: 'info' };
  limits = { connections: 100, rate: 2.5 };
  sessions: Record<string, { user: string; lastSeen: string }> = {
    abc: { user: 'ann', lastSeen: '2026-11-30T09:12:00Z' },
    def: { user: 'bob', lastSeen: '2026-12-01T07:40:00Z' },
  };
  users: Record<string, { name: string }> = { abc: { name: 'Ann' }, def: { name: 'Bob' } };
  cache = new Cache();
  queue = new Queue();
  items = ['apple', 'pear'];
  offset = 0;
  setLevel(level: string, opts: { sticky?: boolean } = {}) {
    this.config = { level, ...opts };
    return this.config;
  }
  fail(message: string) {
    throw new RangeError(message);
  }
  validate() {
    throw new ValidationError('the input is invalid');
  }
}
