/**
 * Error transport, in isolation: errorToWire → JSON text → errorFromWire keeps what a caller
 * relies on (class, name, message, stack, cause, own props, origin), and hostile wire errors
 * cannot reach any prototype.
 */
import fs from 'node:fs';
import vm from 'node:vm';
import {
  AccessError,
  ConnectionClosedError,
  EncodeError,
  type ErrorOrigin,
  HostUnavailableError,
  NotListeningError,
  ProcessExitedError,
  ProtocolError,
  RemoteError,
  RemoteObjError,
  ShutdownError,
  TimeoutError,
} from 'remoteobj';
import { errorFromWire, errorToWire } from '../src/protocol/error-wire';

const ORIGIN: ErrorOrigin = { pid: 4242, path: '/tmp/x.sock', op: 2, opName: 'call' };

/** What a client gets for an error thrown on the host: through real JSON text. */
function through(err: unknown, origin?: ErrorOrigin, localStack?: string): any {
  return errorFromWire(JSON.parse(JSON.stringify(errorToWire(err, origin))), localStack);
}

/** Rebuild from raw wire JSON text, as a hostile peer could send it. */
function fromText(text: string): any {
  return errorFromWire(JSON.parse(text));
}

afterAll(() => {
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(Error.prototype).not.toHaveProperty('polluted');
  expect(Object.getOwnPropertyNames(Error.prototype).sort()).toEqual(['constructor', 'message', 'name', 'toString']);
});

describe('name, message and stack', () => {
  test('an Error keeps name, message and its stack (then the marker)', () => {
    const err = new Error('it broke');
    const out = through(err);
    expect(out.name).toBe('Error');
    expect(out.message).toBe('it broke');
    expect(out.stack.startsWith(`${err.stack}\n`)).toBe(true);
    expect(out.stack.split('\n').at(-1)).toBe('    --- remote ---');
  });

  test('an empty and a multi-line message survive', () => {
    expect(through(new Error('')).message).toBe('');
    expect(through(new Error('line 1\nline 2')).message).toBe('line 1\nline 2');
  });

  test('an error without a stack gets a "name: message" stack line', () => {
    const err = new RangeError('no stack');
    delete (err as { stack?: string }).stack;
    Object.defineProperty(err, 'stack', { value: undefined });
    expect(through(err).stack.split('\n')[0]).toBe('RangeError: no stack');
  });

  test('the wire form is plain JSON that JSON.stringify accepts, whatever the error holds', () => {
    const err = Object.assign(new Error('m'), { big: 10n, fn: () => 1, sym: Symbol('s'), buf: Buffer.from('x'), when: new Date(0) });
    (err as unknown as { self: unknown }).self = err;
    const wire = errorToWire(err);
    const text = JSON.stringify(wire);
    expect(JSON.parse(text)).toMatchObject({ name: 'Error', message: 'm', big: '10n', when: '1970-01-01T00:00:00.000Z', self: '[Circular]' });
    expect(text).not.toContain('"fn"');
  });
});

describe('built-in classes come back as the same class', () => {
  test.each([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError])('%p', (Ctor) => {
    const out = through(new Ctor('m'));
    expect(out).toBeInstanceOf(Ctor);
    expect(out.constructor).toBe(Ctor);
    expect(out.name).toBe(Ctor.name);
    expect(out.message).toBe('m');
    expect(out).not.toBeInstanceOf(RemoteObjError);
  });

  test('errors the engine itself throws keep their class', () => {
    const caught = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error('did not throw');
    };
    expect(through(caught(() => (null as unknown as { x: number }).x))).toBeInstanceOf(TypeError);
    expect(through(caught(() => JSON.parse('{')))).toBeInstanceOf(SyntaxError);
    expect(through(caught(() => new Array(-1)))).toBeInstanceOf(RangeError);
    expect(through(caught(() => decodeURIComponent('%')))).toBeInstanceOf(URIError);
  });

  test('an error from another realm (vm) is still an error, with its class', () => {
    const foreign = vm.runInNewContext('new TypeError("from a vm")');
    expect(foreign instanceof Error).toBe(false);
    const out = through(foreign);
    expect(out).toBeInstanceOf(TypeError);
    expect(out.message).toBe('from a vm');
  });

  test('a real system error keeps code, errno, syscall and path', () => {
    let err: unknown;
    try {
      fs.readFileSync('/nonexistent/remoteobj-test');
    } catch (e) {
      err = e;
    }
    const out = through(err);
    expect(out).toBeInstanceOf(Error);
    expect(out).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: '/nonexistent/remoteobj-test' });
    expect(out.message).toMatch(/ENOENT/);
  });
});

describe('own properties', () => {
  test('code, errno and custom props of any JSON type are kept, enumerable', () => {
    const err = Object.assign(new TypeError('m'), { code: 'E_CUSTOM', errno: -13, detail: { field: 'email', list: [1, 'two', null] }, flag: false, count: 0 });
    const out = through(err);
    expect(out).toMatchObject({ code: 'E_CUSTOM', errno: -13, detail: { field: 'email', list: [1, 'two', null] }, flag: false, count: 0 });
    expect(Object.keys(out).sort()).toEqual(['code', 'count', 'detail', 'errno', 'flag']);
  });

  test('a numeric code is kept', () => {
    expect(through(Object.assign(new Error('m'), { code: 404 })).code).toBe(404);
  });

  test('an `errors` property on an ordinary error is kept as data', () => {
    const out = through(Object.assign(new Error('invalid'), { errors: ['a is required', { field: 'b' }] }));
    expect(out.errors).toEqual(['a is required', { field: 'b' }]);
  });

  test('props of a class instance error (class fields) are kept', () => {
    class HttpError extends Error {
      override name = 'HttpError';
      status = 503;
      retryAfter = 30;
    }
    const out = through(new HttpError('unavailable'));
    expect(out).toMatchObject({ status: 503, retryAfter: 30 });
  });
});

describe('cause', () => {
  test('an error cause comes back as an error of its class, non-enumerable like a native cause', () => {
    const out = through(new Error('outer', { cause: new TypeError('inner') }));
    expect(out.cause).toBeInstanceOf(TypeError);
    expect(out.cause.message).toBe('inner');
    expect(Object.getOwnPropertyDescriptor(out, 'cause')?.enumerable).toBe(false);
  });

  test('nested causes keep every level, class, props and stack', () => {
    const root = Object.assign(new RangeError('root'), { code: 'E_ROOT' });
    const mid = new SyntaxError('mid', { cause: root });
    const out = through(new Error('top', { cause: mid }));
    expect(out.cause).toBeInstanceOf(SyntaxError);
    expect(out.cause.cause).toBeInstanceOf(RangeError);
    expect(out.cause.cause.code).toBe('E_ROOT');
    expect(out.cause.cause.stack.startsWith(root.stack!)).toBe(true);
  });

  test.each([
    ['a string', 'because'],
    ['a number', 42],
    ['zero', 0],
    ['false', false],
    ['null', null],
    ['a plain object', { reason: 'quota', limit: 5 }],
    ['an object with a message but no name', { message: 'not an error' }],
    ['an array', [1, 'two']],
  ])('a non-error cause (%s) is kept as the value', (_label, cause) => {
    const out = through(new Error('m', { cause }));
    expect(Object.hasOwn(out, 'cause')).toBe(true);
    expect(out.cause).toEqual(cause);
    expect(out.cause instanceof Error).toBe(false);
  });

  test('no cause stays no cause', () => {
    expect(Object.hasOwn(through(new Error('m')), 'cause')).toBe(false);
  });

  test('a library error as a cause keeps its class', () => {
    const out = through(new Error('wrapped', { cause: new AccessError('private-name', 'denied') }));
    expect(out.cause).toBeInstanceOf(AccessError);
    expect(out.cause.rule).toBe('private-name');
  });

  test('a circular cause does not hang or throw', () => {
    const err = new Error('loop');
    (err as { cause?: unknown }).cause = err;
    expect(through(err).message).toBe('loop');
  });
});

describe('AggregateError', () => {
  test('errors come back as errors of their classes', () => {
    const out = through(new AggregateError([new TypeError('a'), new RangeError('b')], 'both failed'));
    expect(out).toBeInstanceOf(AggregateError);
    expect(out.message).toBe('both failed');
    expect(out.errors).toHaveLength(2);
    expect(out.errors[0]).toBeInstanceOf(TypeError);
    expect(out.errors[1]).toBeInstanceOf(RangeError);
    expect(out.errors.map((e: Error) => e.message)).toEqual(['a', 'b']);
  });

  test('non-error items stay values, nested AggregateErrors nest', () => {
    const inner = new AggregateError([new EvalError('deep')], 'inner');
    const out = through(new AggregateError(['text', 7, { k: 1 }, inner], 'outer'));
    expect(out.errors.slice(0, 3)).toEqual(['text', 7, { k: 1 }]);
    expect(out.errors[3]).toBeInstanceOf(AggregateError);
    expect(out.errors[3].errors[0]).toBeInstanceOf(EvalError);
  });

  test('library errors inside keep their class', () => {
    const out = through(new AggregateError([new TimeoutError('slow')], 'x'));
    expect(out.errors[0]).toBeInstanceOf(TimeoutError);
  });
});

describe('custom names come back as RemoteError, with their name and code', () => {
  test('a custom class keeps its name, its code and its props; RemoteError says it came from elsewhere', () => {
    class ValidationError extends Error {
      override name = 'ValidationError';
      code = 'E_INVALID';
      field = 'email';
    }
    const out = through(new ValidationError('bad email'));
    expect(out).toBeInstanceOf(RemoteError);
    expect(out).toBeInstanceOf(Error);
    expect(out).not.toBeInstanceOf(RemoteObjError);
    expect(out.name).toBe('ValidationError');
    expect(out.code).toBe('E_INVALID');
    expect(out.field).toBe('email');
    expect(out.message).toBe('bad email');
    expect(String(out)).toBe('ValidationError: bad email');
    expect(Object.getOwnPropertyDescriptor(out, 'name')?.enumerable).toBe(false);
    expect(Object.keys(out).sort()).toEqual(['code', 'field']);
  });

  test.each([
    ['a number', 42],
    ['zero', 0],
    ['an object', { sql: 'ER_DUP_ENTRY', errno: 1062 }],
    ['null', null],
  ])('a code of any JSON type is kept (%s)', (_label, code) => {
    expect(through(Object.assign(new Error('x'), { name: 'DbError', code })).code).toEqual(code);
  });

  test('the deprecated remoteName and remoteCode are aliases of name and code, not own keys', () => {
    const out = through(Object.assign(new Error('x'), { name: 'QuotaError', code: 'E_QUOTA' })) as RemoteError;
    expect([out.remoteName, out.remoteCode]).toEqual(['QuotaError', 'E_QUOTA']);
    expect(Object.hasOwn(out, 'remoteName') || Object.hasOwn(out, 'remoteCode')).toBe(false);
  });

  test('a wire error cannot set remoteName or remoteCode apart from name and code', () => {
    const out = fromText('{"name":"Odd","message":"m","code":1,"remoteName":"Fake","remoteCode":"FAKE"}');
    expect([out.name, out.code, out.remoteName, out.remoteCode]).toEqual(['Odd', 1, 'Odd', 1]);
  });

  test('a name set on the prototype counts too', () => {
    class DbError extends Error {}
    DbError.prototype.name = 'DbError';
    expect(through(new DbError('x')).name).toBe('DbError');
  });

  test('without a code there is no code', () => {
    const out = through(Object.assign(new Error('x'), { name: 'Odd' }));
    expect(out.name).toBe('Odd');
    expect('code' in out).toBe(false);
    expect(out.remoteCode).toBeUndefined();
  });

  test('made locally, a RemoteError takes its code from options (remoteCode still accepted)', () => {
    expect(new RemoteError('A', 'm', { code: 7 }).code).toBe(7);
    expect(new RemoteError('A', 'm', { remoteCode: 8 }).code).toBe(8);
    expect('code' in new RemoteError('A', 'm')).toBe(false);
  });

  test('a RemoteError sent on again (a host that is itself a client) keeps the original name and code', () => {
    const first = through(Object.assign(new Error('x'), { name: 'QuotaError', code: 'E_QUOTA', limit: 3 }));
    const second = through(first);
    expect(second).toBeInstanceOf(RemoteError);
    expect([second.name, second.code, second.limit]).toEqual(['QuotaError', 'E_QUOTA', 3]);
  });

  test.each(['Object', 'Function', 'Promise', 'AssertionError', 'DOMException', 'SystemError', 'RemoteError', 'RemoteObjError'])(
    'the name %s does not pick up a class of that name',
    (name) => {
      const out = through(Object.assign(new Error('x'), { name }));
      expect(out).toBeInstanceOf(RemoteError);
      expect(out).not.toBeInstanceOf(RemoteObjError);
      expect(out.name).toBe(name);
    },
  );
});

describe('library errors come back by code as the same class', () => {
  const library: [string, Error, new (...args: any[]) => Error][] = [
    ['NotListeningError', new NotListeningError('nobody'), NotListeningError],
    ['ShutdownError', new ShutdownError('closing'), ShutdownError],
    ['ConnectionClosedError', new ConnectionClosedError('dropped'), ConnectionClosedError],
    ['EncodeError', new EncodeError('a function'), EncodeError],
    ['AccessError', new AccessError('private-name', 'denied'), AccessError],
    ['TimeoutError', new TimeoutError('slow'), TimeoutError],
    ['ProcessExitedError', new ProcessExitedError('gone'), ProcessExitedError],
    ...(['BAD_JSON', 'BAD_MESSAGE', 'UNKNOWN_OP', 'BAD_VALUE', 'TOO_LARGE', 'VERSION_MISMATCH'] as const).map(
      (code) => [`ProtocolError ${code}`, new ProtocolError(code, code.toLowerCase()), ProtocolError] as [string, Error, new (...args: any[]) => Error],
    ),
  ];

  test.each(library)('%s', (_label, err, Ctor) => {
    const out = through(err, ORIGIN);
    expect(out).toBeInstanceOf(Ctor);
    expect(out.constructor).toBe(Ctor);
    expect(out.code).toBe((err as RemoteObjError).code);
    expect(out.name).toBe(err.name);
    expect(out.message).toBe(err.message);
    expect(out.origin).toEqual(ORIGIN);
    expect(out instanceof HostUnavailableError).toBe(err instanceof HostUnavailableError);
  });

  test('AccessError keeps its rule', () => {
    expect(through(new AccessError('dunder', 'no')).rule).toBe('dunder');
  });

  test('a subclass of a library class travels as that library class', () => {
    class SlowQuery extends TimeoutError {}
    const out = through(new SlowQuery('slow'));
    expect(out.constructor).toBe(TimeoutError);
  });

  test.each(['NOT_LISTENING', 'SHUTDOWN', 'CONNECTION_CLOSED', 'TIMEOUT', 'ACCESS_DENIED', 'BAD_VALUE'])(
    'an application error that merely has code %s stays an application error',
    (code) => {
      const plain = through(Object.assign(new Error('app'), { code }));
      expect(plain.constructor).toBe(Error);
      expect(plain).not.toBeInstanceOf(RemoteObjError);
      expect(plain.code).toBe(code);
      const custom = through(Object.assign(new Error('app'), { name: 'JobError', code }));
      expect(custom).toBeInstanceOf(RemoteError);
      expect(custom).not.toBeInstanceOf(RemoteObjError);
      expect(custom).not.toBeInstanceOf(HostUnavailableError);
      expect([custom.name, custom.code]).toEqual(['JobError', code]);
    },
  );

  test('a wire AccessError with a non-string rule gets rule "unknown"', () => {
    const out = fromText('{"name":"AccessError","code":"ACCESS_DENIED","message":"m","rule":{"x":1}}');
    expect(out).toBeInstanceOf(AccessError);
    expect(out.rule).toBe('unknown');
  });

  test('a locally made library error has no stray enumerable keys', () => {
    expect(Object.keys(new AccessError('r', 'm')).sort()).toEqual(['code', 'rule']);
    expect(Object.keys(new TimeoutError('m'))).toEqual(['code']);
  });
});

describe('origin and the stack marker', () => {
  test('origin is kept, non-enumerable, and the marker line follows the remote stack', () => {
    const err = new Error('remote failure');
    const out = through(err, ORIGIN);
    expect(out.origin).toEqual(ORIGIN);
    expect(Object.getOwnPropertyDescriptor(out, 'origin')?.enumerable).toBe(false);
    const lines: string[] = out.stack.split('\n');
    const marker = lines.indexOf('    --- remote: pid 4242 at /tmp/x.sock, op 2 (call) ---');
    expect(marker).toBe(err.stack!.split('\n').length);
  });

  test('the local frames passed in follow the marker, without their header line', () => {
    const local = new Error('local header').stack!;
    const out = through(new TypeError('t'), ORIGIN, local);
    const lines: string[] = out.stack.split('\n');
    const marker = lines.findIndex((l) => l.includes('--- remote: pid 4242'));
    expect(lines.slice(marker + 1)).toEqual(local.split('\n').slice(1));
    expect(out.stack).not.toContain('local header');
  });

  test('an origin without an op says only pid and path', () => {
    const out = through(new Error('m'), { pid: 1, path: '/p' });
    expect(out.stack.split('\n').at(-1)).toBe('    --- remote: pid 1 at /p ---');
  });

  test('an origin with an op but no op name', () => {
    const out = errorFromWire({ name: 'Error', message: 'm', origin: { pid: 1, path: '/p', op: 0 } }) as any;
    expect(out.stack.split('\n').at(-1)).toBe('    --- remote: pid 1 at /p, op 0 ---');
  });

  test('a malformed origin is ignored; stray origin fields are dropped', () => {
    expect(fromText('{"name":"Error","message":"m","origin":{"pid":"1","path":"/p"}}').origin).toBeUndefined();
    expect(fromText('{"name":"Error","message":"m","origin":[1]}').origin).toBeUndefined();
    const out = fromText('{"name":"Error","message":"m","origin":{"pid":1,"path":"/p","op":{"toString":1},"opName":{},"extra":1}}');
    expect(out.origin).toEqual({ pid: 1, path: '/p' });
    expect(out.stack.split('\n').at(-1)).toBe('    --- remote: pid 1 at /p ---');
  });
});

describe('non-Error thrown values', () => {
  test.each([
    ['a string', 'boom', 'a non-error value was thrown: "boom"'],
    ['undefined', undefined, 'a non-error value was thrown: undefined'],
    ['null', null, 'a non-error value was thrown: null'],
    ['a number', 42, 'a non-error value was thrown: 42'],
    ['a BigInt', 5n, 'a non-error value was thrown: 5n'],
    ['a symbol', Symbol('s'), 'a non-error value was thrown: Symbol(s)'],
    ['an array', [1, 'a'], 'a non-error value was thrown: [1,"a"]'],
    ['an object', { a: 1 }, 'a non-error value was thrown: {"a":1}'],
  ])('%s becomes a RemoteError "NonError" that shows the value', (_label, value, message) => {
    const out = through(value, ORIGIN);
    expect(out).toBeInstanceOf(RemoteError);
    expect(out.name).toBe('NonError');
    expect('code' in out).toBe(false);
    expect(out.message).toBe(message);
    expect(out.origin).toEqual(ORIGIN);
    // No frames from the serializer: the remote part of the stack is the one header line.
    expect(out.stack.split('\n').slice(0, 2)).toEqual([`NonError: ${message}`, '    --- remote: pid 4242 at /tmp/x.sock, op 2 (call) ---']);
  });

  test('a thrown object keeps its props; its message (if any) is the message', () => {
    const out = through({ message: 'bad input', code: 'E_INPUT', details: [1] });
    expect(out.message).toBe('bad input');
    expect([out.name, out.code]).toEqual(['NonError', 'E_INPUT']);
    expect(out.details).toEqual([1]);
  });

  test('a long or circular thrown object still gives a short, sensible message', () => {
    expect(through({ text: 'x'.repeat(10000) }).message.length).toBeLessThan(260);
    const loop: Record<string, unknown> = {};
    loop.loop = loop;
    expect(through(loop).message).toBe('a non-error value was thrown: [object Object]');
  });

  test('a thrown function does not send its source text whole', () => {
    expect(through(function secretSauce() {}).message).toMatch(/^a non-error value was thrown: function secretSauce/);
  });
});

describe('odd errors still serialize', () => {
  test('an error whose toJSON returns a string keeps name and message', () => {
    class Weird extends TypeError {
      toJSON(): string {
        return 'weird';
      }
    }
    const out = through(new Weird('still here'));
    expect(out).toBeInstanceOf(TypeError);
    expect(out.message).toBe('still here');
  });

  test("an error whose toJSON returns an object is serialized from it, and that object is not modified", () => {
    const view = { name: 'HttpError', message: 'from toJSON', status: 500 };
    class Http extends Error {
      toJSON(): object {
        return view;
      }
    }
    const out = through(new Http('x'), ORIGIN);
    expect(out).toMatchObject({ name: 'HttpError', message: 'from toJSON', status: 500 });
    expect(view).toEqual({ name: 'HttpError', message: 'from toJSON', status: 500 });
  });

  test('an error with a throwing getter still sends name and message', () => {
    const err = new RangeError('getter');
    Object.defineProperty(err, 'bad', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    const out = through(err, ORIGIN);
    expect(out).toBeInstanceOf(RangeError);
    expect(out.message).toBe('getter');
  });

  test('a non-string name or message is replaced by something printable', () => {
    const err = new Error('m');
    Object.defineProperty(err, 'name', { value: 42 });
    Object.defineProperty(err, 'message', { value: { not: 'text' } });
    const wire = errorToWire(err);
    expect(typeof wire.name).toBe('string');
    expect(typeof wire.message).toBe('string');
  });
});

describe('hostile wire errors cannot pollute anything', () => {
  test.each(['constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'])('name %s gives a RemoteError', (name) => {
    const out = errorFromWire(JSON.parse(JSON.stringify({ name, message: 'm' }))) as RemoteError;
    expect(out).toBeInstanceOf(RemoteError);
    expect(out.name).toBe(name);
    expect(Object.getPrototypeOf(out)).toBe(RemoteError.prototype);
  });

  test('a __proto__ key never changes the prototype', () => {
    const out = fromText('{"name":"TypeError","message":"m","__proto__":{"polluted":1,"name":"Evil"}}');
    expect(Object.getPrototypeOf(out)).toBe(TypeError.prototype);
    expect(out.polluted).toBeUndefined();
    expect(out.name).toBe('TypeError');
  });

  test('constructor and prototype keys are not copied', () => {
    const out = fromText('{"name":"Error","message":"m","constructor":{"prototype":{"polluted":1}},"prototype":{"polluted":1}}');
    expect(out.constructor).toBe(Error);
    expect(Object.hasOwn(out, 'constructor')).toBe(false);
    expect(Object.hasOwn(out, 'prototype')).toBe(false);
  });

  test('keys that would shadow inherited members are not copied, so the error still prints', () => {
    const out = fromText('{"name":"Error","message":"m","toString":1,"valueOf":"x","hasOwnProperty":null,"toJSON":{}}');
    expect(String(out)).toBe('Error: m');
    expect(`${out}`).toBe('Error: m');
    expect(() => JSON.stringify(out)).not.toThrow();
    expect(Object.hasOwn(out, 'toString')).toBe(false);
  });

  test('hostile keys inside cause, errors and origin are inert too', () => {
    const out = fromText(
      '{"name":"AggregateError","message":"m","errors":[{"name":"Error","message":"e","__proto__":{"polluted":1}}],' +
        '"cause":{"name":"constructor","message":"c","__proto__":{"polluted":1}},"origin":{"pid":1,"path":"/p","__proto__":{"polluted":1}}}',
    );
    expect(out.errors[0].polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.errors[0])).toBe(Error.prototype);
    expect(out.cause).toBeInstanceOf(RemoteError);
    expect(out.cause.polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out.origin)).toBe(Object.prototype);
    expect(out.origin.polluted).toBeUndefined();
  });

  test.each([
    ['a string', '"boom"', 'boom'],
    ['a number', '5', '5'],
    ['null', 'null', 'null'],
    ['an array', '[1,2]', '[1,2]'],
    ['an empty object', '{}', ''],
    ['wrong types everywhere', '{"name":1,"message":{},"stack":[],"cause":{"name":2},"errors":"x","code":{}}', ''],
  ])('a malformed wire error (%s) still gives an Error', (_label, text, message) => {
    const out = fromText(text);
    expect(out).toBeInstanceOf(Error);
    expect(out.message).toBe(message);
    expect(typeof out.stack).toBe('string');
  });

  test('100000 levels of causes or AggregateErrors do not overflow the stack', () => {
    const causes = fromText('{"name":"Error","message":"m","cause":'.repeat(100000) + '1' + '}'.repeat(100000));
    let depth = 0;
    for (let e = causes; e instanceof Error; e = (e as any).cause) depth++;
    expect(depth).toBeGreaterThan(5);
    expect(depth).toBeLessThan(100);
    const aggregates = fromText('{"name":"AggregateError","message":"m","errors":['.repeat(100000) + ']}'.repeat(100000));
    expect(aggregates).toBeInstanceOf(AggregateError);
  });
});
