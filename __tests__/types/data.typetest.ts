/**
 * Remote<T> promises only what arrives (issue 11 item 5): checked by `tsc --noEmit` (npm test,
 * and against the built .d.ts on the oldest and newest TypeScript we state), never run.
 *
 *  - awaiting a result gives its data: class instances without their methods, recursively;
 *    Map, Set, Date, RegExp, Buffer, typed arrays and errors as themselves;
 *  - an async iterable arrives as a RemoteIterable (a stream);
 *  - a value the host cannot send (an iterator, a generator, a promise inside data, a live
 *    resource) is a NotSendable that says why, never `{}`;
 *  - a function argument compiles: protocol 2 passes it by reference (twoway-functions.test.ts).
 *
 * Each `// @ts-expect-error` line proves a lie is caught: if the types loosened, tsc would report
 * the unused directive. __tests__/codec-unsendable.test.ts checks the run time side.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { NotSendable, Remote, RemoteData, RemoteFunction, RemoteIterable } from 'remoteobj';
import { assert, type Equal, expectType } from './expect';

class Job {
  constructor(
    public id: number,
    public title: string,
    readonly tags: Set<string>,
    public created: Date,
    public parent?: Job,
  ) {}
  describe(): string {
    return `${this.id}: ${this.title}`;
  }
  retry?: () => void;
}

/** A Job as it arrives: its own data; describe() and retry stay on the host. */
interface JobData {
  id: number;
  title: string;
  readonly tags: Set<string>;
  created: Date;
  parent?: JobData;
}

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  toJSON(): [number, number] {
    return [this.x, this.y];
  }
}

class Queue {
  jobs = new Map<number, Job>();
  history: Job[] = [];
  pair: [Job, string] = [new Job(1, 'a', new Set(), new Date()), 'b'];
  pattern = /x/g;
  bytes = new Uint8Array(2);
  buffer = Buffer.from('x');
  floats = new Float64Array(1);
  lastError = new RangeError('x');
  counts: Record<string, number> = {};
  meta: any = null;
  extra: unknown = null;
  origin = new Point(0, 0);
  get(id: number): Job | undefined {
    return this.jobs.get(id);
  }
  async load(id: number): Promise<Job> {
    return this.jobs.get(id)!;
  }
  *ids(): Generator<number> {
    for (const id of this.jobs.keys()) yield id;
  }
  async *stream(): AsyncGenerator<Job> {
    for (const job of this.jobs.values()) yield job;
  }
  pending(): { ready: Promise<number> } {
    return { ready: Promise.resolve(1) };
  }
  handler(): () => void {
    return () => undefined;
  }
  token(): symbol {
    return Symbol('t');
  }
  raw(): ArrayBuffer {
    return new ArrayBuffer(1);
  }
  cache(): WeakMap<object, number> {
    return new WeakMap();
  }
  events(): EventEmitter {
    throw new Error('a live resource');
  }
  socket(): Socket {
    throw new Error('a live resource');
  }
  onEach(fn: (job: Job) => void): void {
    this.jobs.forEach(fn);
  }
  maybe(cb?: () => void, times?: number): number {
    return times ?? (cb ? 1 : 0);
  }
  either(label: string | (() => string)): string {
    return typeof label === 'string' ? label : label();
  }
  addAll(...jobs: Job[]): number {
    return jobs.length;
  }
}

declare const q: Remote<Queue>;

export async function classInstancesArriveAsData(): Promise<void> {
  assert<Equal<RemoteData<Job>, { id: number; title: string; readonly tags: Set<string>; created: Date; parent?: RemoteData<Job> }>>();
  const job = await q.get(1);
  expectType<RemoteData<Job> | undefined>()(job);
  const data: JobData | undefined = job;
  expectType<string | undefined>()(job?.title);
  expectType<number | undefined>()(job?.parent?.parent?.id);
  // @ts-expect-error describe() does not arrive: a class instance arrives as its data
  void (await q.get(1))?.describe();
  // @ts-expect-error a function-valued member does not arrive either
  void (await q.get(1))?.retry;
  // Calling the method remotely still works, in one chain: it runs on the host's instance.
  expectType<string>()(await q.get(1).describe());
  expectType<RemoteData<Job>>()(await q.load(1));
  // @ts-expect-error nor through a promise
  void (await q.load(1)).describe();
  void data;
}

export async function recursively(): Promise<void> {
  expectType<RemoteData<Job>[]>()(await q.history);
  // @ts-expect-error inside arrays
  void (await q.history)[0]?.describe();
  const jobs = await q.jobs;
  expectType<Map<number, RemoteData<Job>>>()(jobs);
  // @ts-expect-error inside Maps
  void jobs.get(1)?.describe();
  // Tuples keep their positions.
  expectType<[RemoteData<Job>, string]>()(await q.pair);
  // @ts-expect-error inside tuples
  void (await q.pair)[0].describe();
  // @ts-expect-error inside the data of data (parent is a Job)
  void (await q.get(1))?.parent?.describe();
}

export async function builtInsArriveAsThemselves(): Promise<void> {
  expectType<RegExp>()(await q.pattern);
  // (Typed arrays as declared: generic over their buffer since TypeScript 5.7.)
  expectType<Queue['bytes']>()(await q.bytes);
  expectType<Queue['buffer']>()(await q.buffer);
  expectType<Queue['floats']>()(await q.floats);
  expectType<RangeError>()(await q.lastError);
  expectType<Date>()(await q.get(1).created);
  expectType<Set<string>>()(await q.get(1).tags);
  expectType<Record<string, number>>()(await q.counts);
  expectType<any>()(await q.meta);
  expectType<unknown>()(await q.extra);
  // toJSON() is honoured, as the codec does.
  expectType<[number, number]>()(await q.origin);
}

/** Types that say why a value cannot arrive. */
type NoIterator = NotSendable<'an iterator cannot be sent yet: collect the values into an array on the host'>;
type NoPromise = NotSendable<'a promise inside data cannot be sent: await it on the host'>;
type NoResource = NotSendable<'a live resource (an EventEmitter: a socket, a stream, a server...) cannot be sent'>;

export async function whatCannotBeSentSaysSo(): Promise<void> {
  expectType<NoIterator>()(await q.jobs.values());
  expectType<NoIterator>()(await q.jobs.entries());
  expectType<NoIterator>()(await q.ids());
  expectType<NoIterator>()(await q.history.values());
  // An async generator arrives as a stream (docs/api.md "Streams"; __tests__/types/streams.typetest.ts).
  expectType<RemoteIterable<RemoteData<Job>>>()(await q.stream());
  // Protocol 2: a function arrives as an async callable (twoway-functions.test.ts).
  expectType<RemoteFunction<ReturnType<Queue['handler']>>>()(await q.handler());
  expectType<{ ready: NoPromise }>()(await q.pending());
  expectType<NoResource>()(await q.events());
  expectType<NoResource>()(await q.socket());
  expectType<NotSendable<'a symbol cannot be sent'>>()(await q.token());
  expectType<NotSendable<'an ArrayBuffer or a DataView cannot be sent: send a Uint8Array or a Buffer of it'>>()(await q.raw());
  expectType<NotSendable<'a weak collection cannot be sent'>>()(await q.cache());

  // @ts-expect-error an iterator is not an array of what it yields
  const values: RemoteData<Job>[] = await q.jobs.values();
  // @ts-expect-error nor is an async generator
  const streamed: RemoteData<Job>[] = await q.stream();
  // @ts-expect-error and it has no members to use
  void (await q.ids()).length;
  void [values, streamed];

  // Chaining through an iterator still works: the chain runs on the host, and next() is data.
  const step = await q.jobs.values().next();
  if (!step.done) expectType<RemoteData<Job>>()(step.value);
}

export function functionArgumentsCompile(): void {
  // Protocol 2 passes functions by reference (the host calls back into the client).
  void q.jobs.forEach((job) => job);
  void q.onEach(() => undefined);
  void q.history.map((job) => job.id);
  void q.maybe(() => undefined);
  void q.either(() => 'x');
  // What the host can receive still compiles.
  void q.maybe();
  void q.maybe(undefined, 2);
  void q.either('x');
  // Class instances as arguments: their data is sent (methods stay behind, as for results).
  void q.addAll(new Job(1, 'a', new Set(), new Date()), new Job(2, 'b', new Set(), new Date()));
  void q.history.push(new Job(3, 'c', new Set(), new Date()));
  void q.history.$set(0, new Job(4, 'd', new Set(), new Date()));
  void q.jobs.get(1).describe();
}
