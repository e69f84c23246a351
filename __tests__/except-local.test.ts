/**
 * LocalExcept (and Except used inside its own process): groups, raises, types, catchOnce,
 * raiseAny and the queries, without the original's duplicate records.
 */
import { DEFAULT_GROUP, Except, LocalExcept, RemoteError } from 'remoteobj';
import { raiseStuff, ValidationError, worker } from './fixtures/proc-except';

const messages = (list: Error[]) => list.map((e) => `${e.name}:${e.message}`);

describe.each([
  ['LocalExcept', (o?: ConstructorParameters<typeof LocalExcept>[0]) => new LocalExcept(o)],
  ['Except in its own process', (o?: ConstructorParameters<typeof Except>[0]) => new Except(o)],
])('%s', (_label, make) => {
  test('the seed example: init, work and cleanup groups, raiseAny by group, no-op when none', async () => {
    const exc = make();
    expect(await worker(exc)).toBe('worker returned');
    // init failed (and was re-raised, so work never ran); cleanup failed in the finally.
    expect(exc.names()).toEqual(['init', 'cleanup']);
    expect(() => exc.raiseAny('work')).not.toThrow();
    expect(() => exc.raiseAny('cleanup')).toThrow('cleanup failed');
    expect(() => exc.raiseAny('init')).toThrow(ValidationError);
    expect(() => exc.raiseAny()).toThrow('cleanup failed');
    // the outer default-group context saw the init error after 'init' had claimed it: not recorded twice
    expect(exc.group(DEFAULT_GROUP)).toEqual([]);
    expect(exc.size).toBe(2);
  });

  test('the original test_except scenario: every group as expected, each error once', async () => {
    const exc = make({ raises: false });
    const outside = await raiseStuff(exc);
    expect(outside).toEqual(['raised e', 'passed through f']);
    expect(messages(exc.group(DEFAULT_GROUP))).toEqual(['ReferenceError:a', 'RangeError:a', 'ReferenceError:e', 'TypeError:q']);
    expect(messages(exc.group('init'))).toEqual(['SyntaxError:b']);
    expect(messages(exc.group('process'))).toEqual(Array(5).fill('EvalError:c'));
    expect(messages(exc.group('finish'))).toEqual(['URIError:d']);
    expect(exc.group('overall')).toEqual([]);
    expect(exc.all()).toHaveLength(11);
    // all() is in the order caught, across groups
    expect(messages(exc.all()).slice(0, 4)).toEqual(['ReferenceError:a', 'RangeError:a', 'SyntaxError:b', 'EvalError:c']);
  });
});

describe('LocalExcept rules', () => {
  test('catch returns the function value; a swallowed error gives undefined; raises re-throws the same object', async () => {
    const exc = new LocalExcept();
    expect(await exc.catch(() => 5)).toBe(5);
    expect(await exc.catch(async () => 'async')).toBe('async');
    expect(await exc.catch('g', () => { throw new Error('x'); }, { raises: false })).toBeUndefined();
    const thrown = new RangeError('same');
    await expect(exc.catch('g', () => { throw thrown; })).rejects.toBe(thrown);
    expect(exc.group('g')).toEqual([expect.objectContaining({ message: 'x' }), thrown]);
  });

  test('the seed LocalExcept example: raises=True, then a named context that swallows', async () => {
    const exc = new LocalExcept({ raises: true });
    try {
      await exc.catch(() => { throw new RangeError('!!!'); });
    } catch {
      await exc.catch('hi', () => { throw new TypeError('hello'); }, { raises: false });
    }
    expect(() => exc.raiseAny('hi')).toThrow('hello');
    expect(() => exc.raiseAny()).toThrow('hello');
    expect(() => exc.raiseAny(DEFAULT_GROUP)).toThrow('!!!');
  });

  test('raiseAny: most recent of any group, last or first of one group, no-op for none, nothing cleared until clear()', async () => {
    const exc = new LocalExcept({ raises: false });
    const a1 = new Error('a1');
    const a2 = new Error('a2');
    await exc.catch('a', () => { throw a1; });
    await exc.catch('b', () => { throw new Error('b1'); });
    await exc.catch('a', () => { throw a2; });
    await exc.catch(() => { throw new TypeError('t'); });
    expect(() => exc.raiseAny()).toThrow(TypeError);
    expect(() => exc.raiseAny()).toThrow(TypeError);
    expect(() => exc.raiseAny('a')).toThrow(a2);
    expect(() => exc.raiseAny('a', { latest: false })).toThrow(a1);
    expect(() => exc.raiseAny(undefined, { latest: false })).toThrow(a1);
    expect(() => exc.raiseAny('zzz')).not.toThrow();
    expect(exc.get('a')).toBe(a2);
    expect(exc.get('a', { latest: false })).toBe(a1);
    expect(exc.get('zzz')).toBeUndefined();
    expect(exc.first).toBe(a1);
    expect(exc.last?.message).toBe('t');
    expect(exc.names()).toEqual(['a', 'b', DEFAULT_GROUP]);
    expect([...exc].map((e) => e.message)).toEqual(['a1', 'b1', 'a2', 't']);
    expect(exc.entriesList().map((x) => x.group)).toEqual(['a', 'b', 'a', DEFAULT_GROUP]);
    expect(String(exc)).toMatch(/a: 2 \(last Error: a2\)/);
    exc.clear();
    expect(exc.size).toBe(0);
    expect(() => exc.raiseAny()).not.toThrow();
    expect(exc.first).toBeUndefined();
  });

  test('groups are isolated: an error goes only to the group of the context that caught it', async () => {
    const exc = new LocalExcept({ raises: false });
    await exc.catch('one', () => { throw new Error('1'); });
    await exc.catch('two', () => { throw new Error('2'); });
    expect(messages(exc.group('one'))).toEqual(['Error:1']);
    expect(messages(exc.group('two'))).toEqual(['Error:2']);
    expect(() => exc.raiseAny('one')).toThrow('1');
  });

  test('types: only those classes (subclasses included, or by class name) are caught; others pass through unrecorded', async () => {
    const exc = new LocalExcept({ types: [TypeError, 'ValidationError'], raises: false });
    await exc.catch(() => { throw new TypeError('t'); });
    await exc.catch(() => { throw new ValidationError('v', 'f'); });
    class SubType extends TypeError {}
    await exc.catch(() => { throw new SubType('sub'); });
    await expect(exc.catch(() => { throw new RangeError('r'); })).rejects.toThrow(RangeError);
    // a thrown non-error never matches
    await expect(exc.catch(() => { throw 'a string'; })).rejects.toBe('a string');
    expect(exc.all().map((e) => e.message)).toEqual(['t', 'v', 'sub']);
    // a per-context filter replaces the default one
    await exc.catch(() => { throw new RangeError('r2'); }, { types: RangeError });
    await expect(exc.catch(() => { throw new TypeError('t2'); }, { types: [RangeError] })).rejects.toThrow('t2');
    expect(exc.last?.message).toBe('r2');
  });

  test('a class name also matches a remote error by the name it had in its process', async () => {
    const exc = new LocalExcept({ types: ['ValidationError'], raises: false });
    await exc.catch(() => { throw new RemoteError('ValidationError', 'from afar'); });
    expect(exc.size).toBe(1);
  });

  test('catchOnce (default): the inner context records, outer contexts of the same instance do not', async () => {
    const exc = new LocalExcept();
    const e = new Error('once');
    await exc.catch('outer', async () => {
      await exc.catch('middle', async () => {
        await exc.catch('inner', () => { throw e; });
      });
    }, { raises: false });
    expect(exc.all()).toEqual([e]);
    expect(exc.group('inner')).toEqual([e]);
  });

  test('nested contexts of the same group record an error once (the original recorded it twice)', async () => {
    const exc = new LocalExcept({ catchOnce: false, raises: false });
    await exc.catch('g', async () => {
      await exc.catch('g', () => { throw new Error('dup'); });
    }).catch(() => {});
    expect(exc.group('g')).toHaveLength(1);
  });

  test('catchOnce: false re-throws even with raises: false, so outer contexts record it into their own groups', async () => {
    const exc = new LocalExcept({ raises: false });
    const e = new TypeError('q');
    const r = await exc.catch('outer', async () => {
      await exc.catch('inner', () => { throw e; }, { catchOnce: false });
      return 'not reached';
    });
    expect(r).toBeUndefined();
    expect(exc.group('inner')).toEqual([e]);
    expect(exc.group('outer')).toEqual([e]);
  });

  test('another instance decides for itself (the original shared the tag on the error)', async () => {
    const e1 = new LocalExcept();
    const e2 = new LocalExcept({ raises: false });
    await e2.catch(async () => {
      await e1.catch('inner', () => { throw new Error('both'); });
    });
    expect(e1.size).toBe(1);
    expect(e2.size).toBe(1);
  });

  test('catchSync: sync functions; a promise-returning function is refused', () => {
    const exc = new LocalExcept({ raises: false });
    expect(exc.catchSync(() => 3)).toBe(3);
    expect(exc.catchSync('s', () => { throw new Error('sync'); })).toBeUndefined();
    expect(() => exc.catchSync('s', () => { throw new Error('loud'); }, { raises: true })).toThrow('loud');
    expect(exc.group('s').map((e) => e.message)).toEqual(['sync', 'loud']);
    expect(() => exc.catchSync(async () => 1)).toThrow(/use `await exc.catch/);
  });

  test('bad arguments are TypeErrors', async () => {
    const exc = new LocalExcept();
    await expect(exc.catch('g', 'nope' as never)).rejects.toThrow(TypeError);
    await expect(exc.catch('', () => 1)).rejects.toThrow(/must not be empty/);
    expect(() => new LocalExcept({ types: [42 as never] })).toThrow(TypeError);
  });
});
