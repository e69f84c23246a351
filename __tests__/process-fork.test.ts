/**
 * fork(fn, ...args) with real child processes: results, the four kinds of function, streamed
 * yields with back-pressure, errors, names, options, join / kill / await using.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EncodeError, fork, type Forked, NotExportedError, ProcessExitedError, RemoteError, TimeoutError } from 'remoteobj';
import {
  asyncMul,
  bigResult,
  countTo,
  childInfo,
  echo,
  endless,
  fail,
  gated,
  leavesTimer,
  nestedFork,
  rangeIterator,
  remoteFunc,
  returnsFunction,
  sleepForever,
  syncRange,
} from './fixtures/proc-funcs';
import { raiseValidation } from './fixtures/proc-except';
import { sleep, until } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures', 'proc-funcs.ts');
const started: Forked<any, any>[] = [];

/** Every child a test starts is killed after it, whatever happened. */
function track<P extends Forked<any, any>>(p: P): P {
  started.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => (p.running ? p.kill('SIGKILL') : undefined)));
});

/** For a promise that must reject: fail the test if it resolves. */
function unexpected(v: unknown): never {
  throw new Error(`expected a rejection, got ${String(v)}`);
}

function tmpFile(tag: string): string {
  return path.join(os.tmpdir(), `ro-proc-${tag}-${process.pid}-${Math.random().toString(16).slice(2)}`);
}

describe('the seed examples', () => {
  test('fork(remoteFunc, 5, 2): name from the function, result once the child has returned, await using waits', async () => {
    let p!: Forked<number, never>;
    {
      await using q = fork(remoteFunc, 5, 2);
      p = q;
      expect(q.name).toMatch(/^remoteFunc-\d+$/);
      expect(await q.result).toBe(10);
    }
    expect(p.running).toBe(false);
    expect(p.exitCode).toBe(0);
  });

  test('for await (const i of fork(countTo, 4)) sees 0 1 2 3, then the child error is thrown there', async () => {
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const i of track(fork(countTo, 4))) seen.push(i);
      })(),
    ).rejects.toThrow('error from child');
    expect(seen).toEqual([0, 1, 2, 3]);
  });
});

describe('the four kinds of function', () => {
  test('sync function; iterating one that returns a value is a TypeError naming p.result', async () => {
    const p = track(fork(remoteFunc, 6, 7));
    await expect(
      (async () => {
        for await (const _ of p as unknown as AsyncIterable<unknown>) void _;
      })(),
    ).rejects.toThrow(/returned a value.*p\.result/);
    expect(await p.result).toBe(42);
  });

  test('async function', async () => {
    expect(await track(fork(asyncMul, 3, 5)).result).toBe(15);
  });

  test('sync generator: values stream, result is its return value', async () => {
    const p = track(fork(syncRange, 5, 10));
    const seen: number[] = [];
    for await (const v of p) seen.push(v);
    expect(seen).toEqual([5, 6, 7, 8, 9]);
    expect(await p.result).toBe('sync done');
  });

  test('async generator error after yields: values kept, result rejects with the same error', async () => {
    const p = track(fork(countTo, 2));
    await expect(p.result).rejects.toThrow('error from child');
    // Nobody iterated while it ran: the values were kept for a later read.
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const v of p) seen.push(v);
      })(),
    ).rejects.toThrow('error from child');
    expect(seen).toEqual([0, 1]);
  });

  test('a plain function returning an iterator streams too; values can be read only once', async () => {
    const p = track(fork(rangeIterator, 3));
    const seen: number[] = [];
    for await (const v of p) seen.push(v);
    expect(seen).toEqual([0, 1, 2]);
    expect(() => p[Symbol.asyncIterator]()).toThrow(TypeError);
  });

});

describe('values and errors', () => {
  test('arguments and results use the value codec; an options-like object stays an argument; the result is readable after the child ended', async () => {
    const args = [
      new Date(86400000),
      new Map<unknown, unknown>([['a', 1n]]),
      new Set([1, 2]),
      undefined,
      NaN,
      -0,
      new Uint8Array([1, 2, 3]),
      { $odd: 'key' },
      { name: 'x', timeout: 1, daemon: false },
    ];
    const p = track(fork(echo, ...args));
    await until(() => !p.running);
    const back = await p.result;
    expect(back).toEqual(args);
    expect(Object.is((back as unknown[])[5], -0)).toBe(true);
    expect(p.name).toMatch(/^echo-\d+$/);
  });

  test('a child error arrives with its class, message, own properties, cause, and the child frames then the caller frames', async () => {
    const p = track(fork(fail, 'boom'));
    const err = await p.result.then(unexpected, (e: unknown) => e as Error & { code?: string; detail?: unknown });
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('boom');
    expect(err.code).toBe('E_FAIL');
    expect(err.detail).toEqual({ n: 1 });
    expect(err.cause).toBeInstanceOf(TypeError);
    expect((err.cause as Error).message).toBe('the cause');
    const stack = err.stack!;
    expect(stack).toContain('proc-funcs.ts');
    expect(stack).toContain(`--- remote: pid ${p.pid} at fork ${p.name} ---`);
    // after the marker: where fork() was called
    expect(stack.slice(stack.indexOf('--- remote'))).toContain('process-fork.test.ts');
    // the bootstrap's own frames are trimmed
    expect(stack).not.toMatch(/process[/\\]child\.[jt]s/);
    expect((await p.exited).code).toBe(1);
  });

  test('a custom error class arrives as RemoteError with its name', async () => {
    const p = track(fork(raiseValidation));
    const err = await p.result.then(unexpected, (e: unknown) => e as RemoteError);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.remoteName).toBe('ValidationError');
    expect((err as unknown as { field: string }).field).toBe('email');
  });

  test('a result that cannot travel rejects with EncodeError naming where', async () => {
    const err = await track(fork(returnsFunction)).result.then(unexpected, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(EncodeError);
    expect(err.message).toContain('result.fn');
  });

  test('an argument that cannot travel fails at the call, before any process starts', () => {
    expect(() => fork(echo, { f: () => 1 })).toThrow(EncodeError);
    expect(() => fork(echo, { f: () => 1 })).toThrow('args[0].f');
  });

  test('a large result (1000 objects × 100 keys of 20-character strings) arrives intact', async () => {
    const p = track(fork(bigResult));
    expect(await p.result).toEqual(bigResult());
    await p.join();
    expect(p.exitCode).toBe(0);
  });
});

describe('targets', () => {
  test('a non-callable target is a TypeError at once', () => {
    expect(() => fork(true as unknown as () => void)).toThrow(TypeError);
    expect(() => fork(null as unknown as () => void)).toThrow(/must be a function/);
  });

  // Under Jest the code runs in a vm context, where V8's inspector is not asked for the location;
  // process-modules.test.ts checks the location in real programs.
  test('an inline function is refused at once, saying how to fix it', () => {
    let err: Error | undefined;
    try {
      fork((x: number) => x * 2, 3);
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(NotExportedError);
    expect(err).toBeInstanceOf(TypeError);
    expect(err!.message).toMatch(/an anonymous function .*is not exported by any loaded module/);
    expect(err!.message).toMatch(/Export it/);
    expect(err!.message).toContain('fork.ref(');
  });

  test('a named function that its module does not export is refused the same way', () => {
    function localHelper(): number {
      return 1;
    }
    expect(() => fork(localHelper)).toThrow(/function localHelper .*is not exported.*`export function localHelper\(…\)`/);
  });

  test('the explicit form fork.ref(module, export) (TypeScript module by path)', async () => {
    const p = track(fork(fork.ref<typeof remoteFunc>(FIXTURE, 'remoteFunc'), 4, 4));
    expect(p.name).toMatch(/^remoteFunc-\d+$/);
    expect(await p.result).toBe(16);
  });

  test('fork.ref to an export that does not exist rejects with a clear error', async () => {
    const err = await track(fork(fork.ref(FIXTURE, 'nope'))).result.then(unexpected, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(/its export "nope" does not exist/);
  });

  test('plain JavaScript: CommonJS by reference, an ES module by file URL', async () => {
    const cjs = require('./fixtures/proc-cjs.js') as { add(a: number, b: number): number; twice(x: number): number };
    expect(await track(fork(cjs.add, 2, 40)).result).toBe(42);
    const twice = track(fork(cjs.twice, 21));
    expect(twice.name).toMatch(/^twice-\d+$/);
    expect(await twice.result).toBe(42);
    const esm = new URL(`file://${path.join(__dirname, 'fixtures', 'proc-esm.mjs')}`);
    const seen: number[] = [];
    for await (const v of track(fork(fork.ref(esm, 'upTo'), 3))) seen.push(v as number);
    expect(seen).toEqual([0, 1, 2]);
  });

  test('a child can fork a child of its own', async () => {
    expect(await track(fork(nestedFork, 7)).result).toBe(21);
  });
});

describe('names and options', () => {
  test('names are numbered in order; fork.with({ name }) sets one', async () => {
    const ps = [fork(remoteFunc, 1, 1), fork(syncRange, 0, 0), fork(remoteFunc, 1, 1)].map(track);
    const numbers = ps.map((p) => Number(p.name.split('-').pop()));
    expect(ps.map((p) => p.name.replace(/-\d+$/, ''))).toEqual(['remoteFunc', 'syncRange', 'remoteFunc']);
    expect(numbers[1]).toBe(numbers[0]! + 1);
    expect(numbers[2]).toBe(numbers[0]! + 2);
    await Promise.all(ps.map((p) => p.join()));
  });

  test('env, cwd and execArgv reach the child (a TypeScript hook is added when missing)', async () => {
    const dir = fs.realpathSync(os.tmpdir());
    const withOpts = fork.with({ env: { ...process.env, RO_TEST_VALUE: 'from-parent' }, cwd: dir, execArgv: ['--stack-size=900'] });
    const info = await track(withOpts(childInfo, 'RO_TEST_VALUE')).result;
    expect(info.env).toBe('from-parent');
    expect(info.cwd).toBe(dir);
    expect(info.execArgv).toContain('--stack-size=900');
    expect(info.execArgv.some((f) => f.includes('ts-node'))).toBe(true);
  });

  test('types: arguments are checked against the function; result and yields are typed (checked by tsc, not run)', () => {
    const typed = () => {
      // @ts-expect-error remoteFunc takes numbers
      fork(remoteFunc, 'a', 2);
      // @ts-expect-error too few arguments
      fork(remoteFunc, 1);
      const r: Promise<number> = fork(remoteFunc, 1, 2).result;
      const ys: AsyncIterable<number> = fork(countTo, 3);
      const ret: Promise<string> = fork(syncRange, 0, 1).result;
      const viaRef: Promise<number> = fork(fork.ref<typeof remoteFunc>(FIXTURE, 'remoteFunc'), 1, 2).result;
      return [r, ys, ret, viaRef];
    };
    expect(typeof typed).toBe('function');
  });

  test('fork.with chains merge, and bad options fail at once', () => {
    const f = fork.with({ name: 'a' }).with({ timeout: 1000 });
    expect(f.options).toEqual({ name: 'a', timeout: 1000 });
    expect(() => fork.with({ timeout: -1 })).toThrow(TypeError);
    expect(() => fork.with({ highWaterMark: 0 })).toThrow(TypeError);
  });

  test('timeout: the child is stopped and result rejects with TimeoutError; name option', async () => {
    const p = track(fork.with({ timeout: 300, name: 'sleeper' })(sleepForever));
    expect(p.name).toBe('sleeper');
    const err = await p.result.then(unexpected, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toContain('sleeper');
    expect((await p.exited).signal).toBe('SIGTERM');
  });

  test('a child exits once its function has returned, even with timers left behind', async () => {
    const p = track(fork(leavesTimer));
    expect(await p.join()).toBe('returned');
    expect(p.exitCode).toBe(0);
  });
});

describe('streaming and back-pressure', () => {
  test('the first value arrives while the child is still running (it waits for the test to let it finish)', async () => {
    const gate = tmpFile('gate');
    const p = track(fork(gated, gate));
    const it = p[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: 0 });
    expect(p.running).toBe(true);
    fs.writeFileSync(gate, '');
    try {
      expect(await it.next()).toEqual({ done: false, value: 1 });
      expect(await it.next()).toEqual({ done: false, value: 2 });
      expect(await it.next()).toEqual({ done: true, value: 'gated done' });
    } finally {
      fs.rmSync(gate, { force: true });
    }
  });

  test('a slow consumer holds the child back: it runs at most highWaterMark values ahead', async () => {
    const progress = tmpFile('progress');
    const p = track(fork.with({ highWaterMark: 4 })(endless, progress));
    const it = p[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    // The child fills its window, then waits for the consumer.
    await until(() => fs.existsSync(progress) && Number(fs.readFileSync(progress, 'utf8')) >= 3);
    await sleep(300);
    // 1 value read + a window of 4: the child has produced at most values 0..4.
    expect(Number(fs.readFileSync(progress, 'utf8'))).toBeLessThanOrEqual(4);
    for (let i = 1; i <= 10; i++) expect((await it.next()).value).toBe(i);
    // Breaking out ends the child's generator (its finally runs) and the child returns.
    await it.return!();
    expect(await p.result).toBeUndefined();
    await p.join();
    expect(fs.readFileSync(progress, 'utf8')).toBe('finally');
    expect(p.exitCode).toBe(0);
    fs.rmSync(progress, { force: true });
  });

  test('for await with break stops the child', async () => {
    const progress = tmpFile('progress');
    const p = track(fork(endless, progress));
    for await (const v of p) if (v === 3) break;
    await p.join();
    expect(fs.readFileSync(progress, 'utf8')).toBe('finally');
    fs.rmSync(progress, { force: true });
  });
});

describe('join, kill, dispose', () => {
  test('join() throws the child error', async () => {
    await expect(track(fork(fail, 'joined')).join()).rejects.toThrow('joined');
  });

  test('join({ timeout }) rejects with TimeoutError while the child runs on; kill() ends it, result names the signal', async () => {
    const p = track(fork(sleepForever));
    await expect(p.join({ timeout: 200 })).rejects.toThrow(TimeoutError);
    expect(p.running).toBe(true);
    const info = await p.kill();
    expect(info.signal).toBe('SIGTERM');
    const err = await p.result.then(unexpected, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect(err.message).toMatch(/killed by SIGTERM after kill\(SIGTERM\)/);
  });

  test('leaving await using throws the child error nobody has looked at', async () => {
    await expect(
      (async () => {
        await using p = fork(fail, 'unobserved');
        track(p);
      })(),
    ).rejects.toThrow('unobserved');
  });

  test('leaving await using does not throw an error already seen through result', async () => {
    let seen: unknown;
    {
      await using p = track(fork(fail, 'seen'));
      seen = await p.result.catch((e: unknown) => e);
    }
    expect((seen as Error).message).toBe('seen');
  });
});
