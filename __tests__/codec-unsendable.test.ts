/**
 * Values the host cannot send meaningfully yet (iterators, generators, async iterables) are an
 * EncodeError that names the kind and the path, never a silent `{}` (issue 11 item 5): in the
 * codec, and end to end over a real socket, where `await q.jobs.values()` and an `async *stream()`
 * method used to resolve to `{}`. Iterables that are data (arrays, Maps, Sets, strings, typed
 * arrays) still travel, and chaining through an iterator on the host still works.
 */
import { Readable } from 'node:stream';
import { connect, EncodeError, type Host, serve, type Remote } from 'remoteobj';
import { encode } from '../src/protocol/codec';
import { tmpSock } from './helpers';

function encodeError(value: unknown): EncodeError {
  try {
    encode(value);
  } catch (e) {
    expect(e).toBeInstanceOf(EncodeError);
    return e as EncodeError;
  }
  throw new Error(`encoded without an error: ${JSON.stringify(encode(value))}`);
}

function* numbers(): Generator<number> {
  yield 1;
}
async function* later(): AsyncGenerator<number> {
  yield 1;
}
class Countdown {
  from = 3;
  async *[Symbol.asyncIterator](): AsyncGenerator<number> {
    for (let i = this.from; i > 0; i--) yield i;
  }
}
class Walker {
  at = 0;
  next(): IteratorResult<number> {
    return { done: false, value: this.at++ };
  }
  [Symbol.iterator](): this {
    return this;
  }
}

describe('the codec refuses what it cannot send yet, saying what and where', () => {
  const map = new Map([['a', 1]]);
  test.each([
    ['a Map iterator', map.values(), /^cannot send a Map iterator at value: iterators cannot be sent yet/],
    ['a Map entries iterator', map.entries(), /^cannot send a Map iterator at value:/],
    ['a Set iterator', new Set([1]).values(), /^cannot send a Set iterator at value:/],
    ['an Array iterator', [1, 2][Symbol.iterator](), /^cannot send an Array iterator at value:/],
    ['a String iterator', 'ab'[Symbol.iterator](), /^cannot send a String iterator at value:/],
    ['a RegExp String iterator', 'ab'.matchAll(/a/g), /^cannot send a RegExp String iterator at value:/],
    ['a generator', numbers(), /^cannot send a generator at value: iterators cannot be sent yet/],
    ['an async generator', later(), /^cannot send an async generator at value: async iterators cannot be sent yet/],
    ['an iterator of a class', new Walker(), /^cannot send an iterator \(an instance of Walker\) at value:/],
    ['an async iterable of a class', new Countdown(), /^cannot send an async iterable \(an instance of Countdown\) at value: async iterables cannot be sent yet/],
    ['an iterator nested in data', { page: { rows: [1, new Set([2]).values()] } }, /^cannot send a Set iterator at value\.page\.rows\[1\]:/],
    ['a generator as a Map value', new Map([['g', numbers()]]), /^cannot send a generator at value\.get\("g"\):/],
  ])('%s', (_label, value, message) => {
    const err = encodeError(value);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/collect|array/);
  });

  test('a stream is a live resource, refused as such (not as a collection to gather)', () => {
    expect(encodeError(Readable.from(['x'])).message).toMatch(/^cannot send an instance of Readable at value: only data can cross the wire$/);
  });

  test('iterables that are data still travel', () => {
    expect(encode([1, 2])).toEqual([1, 2]);
    expect(encode(new Map([['a', 1]]))).toEqual({ $map: [['a', 1]] });
    expect(encode(new Set([1]))).toEqual({ $set: [1] });
    expect(encode('ab')).toBe('ab');
    expect(encode(new Uint8Array([1]))).toEqual({ $bytes: 'AQ==' });
  });

  test('a class instance with its own data still travels as that data', () => {
    class Job {
      id = 1;
      describe(): string {
        return 'job';
      }
    }
    expect(encode(new Job())).toEqual({ id: 1 });
  });
});

class Job {
  constructor(
    readonly id: number,
    readonly title: string,
  ) {}
  describe(): string {
    return `${this.id}: ${this.title}`;
  }
}

class Queue {
  jobs = new Map<number, Job>([[1, new Job(1, 'wash')]]);
  get(id: number): Job | undefined {
    return this.jobs.get(id);
  }
  ids(): Generator<number> {
    return this.jobs.keys() as unknown as Generator<number>;
  }
  async *stream(): AsyncGenerator<Job> {
    yield* this.jobs.values();
  }
  page(): { rows: unknown[] } {
    return { rows: [this.jobs.values()] };
  }
}

describe('over a real socket', () => {
  let host: Host<Queue>;
  let q: Remote<Queue>;
  beforeAll(async () => {
    const path = tmpSock('unsend');
    host = await serve(new Queue(), path, { localBypass: false });
    q = await connect<Queue>(path, { localBypass: false });
  });
  afterAll(async () => {
    await q.$close();
    await host.close();
  });

  const failure = (p: PromiseLike<unknown>) =>
    Promise.resolve(p).then(
      (v) => {
        throw new Error(`resolved with ${JSON.stringify(v)}`);
      },
      (e: unknown) => e as EncodeError,
    );

  test('await q.jobs.values() is an EncodeError naming a Map iterator, not {}', async () => {
    const err = await failure(q.jobs.values());
    expect(err).toBeInstanceOf(EncodeError);
    expect(err.message).toMatch(/^cannot send a Map iterator at result: iterators cannot be sent yet/);
  });

  test('an async *stream() method is an EncodeError naming an async generator, not {}', async () => {
    const err = await failure(q.stream());
    expect(err).toBeInstanceOf(EncodeError);
    expect(err.message).toMatch(/^cannot send an async generator at result: async iterators cannot be sent yet/);
  });

  test('an iterator inside a result names its path', async () => {
    expect((await failure(q.page())).message).toMatch(/^cannot send a Map iterator at result\.rows\[0\]:/);
  });

  test('chaining through an iterator on the host still works: next() is data', async () => {
    expect(await q.jobs.values().next()).toEqual({ done: false, value: { id: 1, title: 'wash' } });
  });

  test('a class instance arrives as its data, and its methods still run remotely', async () => {
    const job = await q.get(1);
    expect(job).toEqual({ id: 1, title: 'wash' });
    expect((job as { describe?: unknown }).describe).toBeUndefined();
    expect(await q.get(1).describe()).toBe('1: wash');
  });

  test('a function argument is refused before anything is sent (protocol 1; protocol 2 passes it by reference)', async () => {
    const v1 = await connect<Queue>(host.path, { localBypass: false, protocol: 1 });
    const err = await failure((v1.jobs as any).forEach(() => undefined));
    expect(err).toBeInstanceOf(EncodeError);
    expect(err.message).toMatch(/cannot send a function at args\[0\]/);
    expect(host.target.jobs.size).toBe(1);
    await v1.$close();
    const seen: unknown[] = [];
    await (q.jobs as any).forEach((job: unknown) => void seen.push(job));
    // forEach does not await its callback, but the host's calls leave before its reply, on the same connection.
    expect(seen).toEqual([{ id: 1, title: 'wash' }]);
  });
});
