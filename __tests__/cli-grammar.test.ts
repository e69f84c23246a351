/**
 * The CLI's expression grammar, in process: what parses into which op chain (the same ops the
 * proxy sends), and where a syntax error points. The bin's handling of the same input (exit 2,
 * nothing sent) is in cli-commands.test.ts.
 */
import { parseArgs, secondsOption } from '../src/cli/args';
import { ExprSyntaxError, parseChain, parseValue } from '../src/cli/grammar';

const ops = (text: string) => parseChain(text).ops;

function syntaxError(text: string): ExprSyntaxError {
  try {
    parseChain(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ExprSyntaxError);
    return e as ExprSyntaxError;
  }
  throw new Error(`${text} parsed`);
}

describe('chains', () => {
  test('names, dots, indexes and quoted keys become get ops in order', () => {
    expect(ops('cache.stats.hits')).toEqual([
      { op: 'get', key: 'cache' },
      { op: 'get', key: 'stats' },
      { op: 'get', key: 'hits' },
    ]);
    expect(ops('items[0].name')).toEqual([{ op: 'get', key: 'items' }, { op: 'get', key: 0 }, { op: 'get', key: 'name' }]);
    expect(ops('sessions["abc"]')).toEqual([{ op: 'get', key: 'sessions' }, { op: 'get', key: 'abc' }]);
    expect(ops('["my-key"]["a b"]["\\u00e9\\n"]')).toEqual([{ op: 'get', key: 'my-key' }, { op: 'get', key: 'a b' }, { op: 'get', key: 'é\n' }]);
    expect(ops('[2]')).toEqual([{ op: 'get', key: 2 }]);
  });

  test('a leading "." (jq style) and whitespace between tokens are allowed; "" and "." are the root', () => {
    expect(ops('.cache.stats')).toEqual(ops('cache.stats'));
    expect(ops('.[0]')).toEqual([{ op: 'get', key: 0 }]);
    expect(ops('  cache . stats [ 1 ] ( ) ')).toEqual([{ op: 'get', key: 'cache' }, { op: 'get', key: 'stats' }, { op: 'get', key: 1 }, { op: 'call', args: [] }]);
    expect(ops('')).toEqual([]);
    expect(ops('.')).toEqual([]);
  });

  test('names follow JavaScript identifiers: $, _, digits after the first, Unicode letters', () => {
    expect(ops('$x._y.a1.café.日本')).toEqual(['$x', '_y', 'a1', 'café', '日本'].map((key) => ({ op: 'get', key })));
    expect(ops('a.delete().new')).toEqual([{ op: 'get', key: 'a' }, { op: 'get', key: 'delete' }, { op: 'call', args: [] }, { op: 'get', key: 'new' }]);
  });

  test('calls take JSON literal arguments: strings, numbers, booleans, null, arrays, objects', () => {
    expect(ops('setLevel("debug", {"sticky": true})')).toEqual([
      { op: 'get', key: 'setLevel' },
      { op: 'call', args: ['debug', { sticky: true }] },
    ]);
    expect(ops('f(1, -2.5, 1e3, true, false, null, [1, [2]], {"a": {"b": []}}, "")')).toEqual([
      { op: 'get', key: 'f' },
      { op: 'call', args: [1, -2.5, 1000, true, false, null, [1, [2]], { a: { b: [] } }, ''] },
    ]);
    expect(ops('queue.pause().resume()')).toEqual([
      { op: 'get', key: 'queue' },
      { op: 'get', key: 'pause' },
      { op: 'call', args: [] },
      { op: 'get', key: 'resume' },
      { op: 'call', args: [] },
    ]);
    expect(ops('f("a\\"b\\\\c\\u0041")')[1]).toEqual({ op: 'call', args: ['a"b\\cA'] });
  });

  test('arguments use the codec’s tagged forms, decoded into real values', () => {
    const [, callOp] = ops('f({"$bigint": "12345678901234567890"}, {"$date": "2024-01-02T03:04:05.000Z"}, {"$undefined": true}, {"$map": [["k", 1]]}, {"$set": [1]}, {"$number": "NaN"}, {"$escape": {"$x": 1}})');
    const args = (callOp as { args: unknown[] }).args;
    expect(args[0]).toBe(12345678901234567890n);
    expect(args[1]).toEqual(new Date('2024-01-02T03:04:05.000Z'));
    expect(args[2]).toBeUndefined();
    expect(args).toHaveLength(7);
    expect(args[3]).toEqual(new Map([['k', 1]]));
    expect(args[4]).toEqual(new Set([1]));
    expect(args[5]).toBeNaN();
    expect(args[6]).toEqual({ $x: 1 });
  });

  test('a "__proto__" key in a JSON argument is plain own data, never a prototype', () => {
    const [, callOp] = ops('f({"__proto__": {"polluted": 1}})');
    const arg = (callOp as { args: Record<string, unknown>[] }).args[0]!;
    expect(Object.getPrototypeOf(arg)).toBe(Object.prototype);
    expect(Object.keys(arg)).toEqual(['__proto__']);
    expect((arg as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  test('spans map each op back to its text (for pointing at the op that threw)', () => {
    const c = parseChain('cache.stats["a"].get(1)');
    expect(c.spans.map((s) => c.source.slice(s.start, s.end))).toEqual(['cache', '.stats', '["a"]', '.get', '(1)']);
  });

  test('malicious chains are grammatical but only data: the names are sent for the host to refuse', () => {
    // The grammar never evaluates: `constructor` is just a name, the string just a string.
    expect(ops('constructor.constructor("return process")()')).toEqual([
      { op: 'get', key: 'constructor' },
      { op: 'get', key: 'constructor' },
      { op: 'call', args: ['return process'] },
      { op: 'call', args: [] },
    ]);
    expect(ops('__proto__.polluted')).toEqual([{ op: 'get', key: '__proto__' }, { op: 'get', key: 'polluted' }]);
  });
});

describe('syntax errors point at the column', () => {
  test.each([
    ['cache..stats', 7, /expected a name after "\."/],
    ['cache.', 7, /expected a name after "\."/],
    ['cache.1x', 7, /cannot start with a digit/],
    ['0.name', 1, /cannot start with a digit.*\[0\]/],
    ['a b', 3, /expected "\.", "\[" or "\(" before this name/],
    ['a = 1', 3, /remoteobj set/],
    ['a; process.exit()', 2, /one expression only/],
    ['a + 1', 3, /operators/],
    ["items['x']", 7, /double quotes/],
    ['items[x]', 7, /need quotes/],
    ['items[-1]', 7, /at\(-1\)/],
    ['items[1.5]', 7, /non-negative integer/],
    ['items[01]', 7, /leading zeros/],
    ['items[0', 8, /unclosed "\[" \(opened at column 6\)/],
    ['items[]', 7, /expected an index/],
    ['f(1,)', 5, /trailing commas/],
    ['f(1 2)', 5, /expected "," or "\)"/],
    ['f(1', 4, /unclosed "\(" \(opened at column 2\)/],
    ['f("abc', 7, /unterminated string \(opened at column 3\)/],
    ["f('abc')", 3, /double quotes/],
    ['f(abc)', 3, /JSON values, not names: abc/],
    ['f(undefined)', 3, /\$undefined/],
    ['f(NaN)', 3, /\$number/],
    ['f({a: 1})', 4, /keys need double quotes/],
    ['f({"a" 1})', 8, /expected ":"/],
    ['f(0x10)', 3, /bad number/],
    ['f(10n)', 3, /\$bigint/],
    ['f(.5)', 3, /expected a JSON value/],
    ['f({"$nope": 1})', 3, /bad tagged value: unknown tag/],
    ['f("a\\x")', 5, /bad escape/],
    ['()', 1, /cannot start with a call/],
    ['a => 1', 3, /remoteobj set/],
    ['`x`', 1, /double quotes/],
    ['a?.b', 2, /optional chaining/],
    ['new Foo()', 5, /before this name/],
  ])('%s → column %d', (text, column, message) => {
    const e = syntaxError(text);
    expect(e.column).toBe(column);
    expect(e.message).toMatch(message);
  });

  test('nesting deeper than the codec accepts is a syntax error, not a stack overflow', () => {
    expect(syntaxError(`f(${'['.repeat(5000)})`).message).toMatch(/deeper than/);
  });
});

describe('values (set)', () => {
  test('a whole JSON value, tagged forms decoded', () => {
    expect(parseValue('"debug"')).toBe('debug');
    expect(parseValue(' -1 ')).toBe(-1);
    expect(parseValue('{"maxBytes": 1048576}')).toEqual({ maxBytes: 1048576 });
    expect(parseValue('{"$bigint": "7"}')).toBe(7n);
  });

  test('a bare word or trailing text is an error with its column', () => {
    expect(() => parseValue('debug')).toThrow(/not names: debug/);
    expect(() => parseValue('')).toThrow(/got nothing/);
    try {
      parseValue('1 2');
      throw new Error('parsed');
    } catch (e) {
      expect((e as ExprSyntaxError).column).toBe(3);
    }
  });
});

describe('options', () => {
  const specs = [{ name: 'timeout', short: 't', value: true }, { name: 'raw', short: 'r' }];

  test('options anywhere; negative numbers are positional; -- ends options', () => {
    const a = parseArgs(['set', '-r', 'x', '-1', '--timeout=2.5', '--', '--raw'], specs, 'set');
    expect(a.positionals).toEqual(['set', 'x', '-1', '--raw']);
    expect(a.options.get('raw')).toBe(true);
    expect(secondsOption(a, 'timeout', 'set')).toBe(2500);
    expect(secondsOption(parseArgs(['-t', '0'], specs, 'x'), 'timeout', 'x')).toBe(Infinity);
  });

  test('unknown options, missing values and bad durations are usage errors', () => {
    expect(() => parseArgs(['--nope'], specs, 'get')).toThrow(/unknown option --nope/);
    expect(() => parseArgs(['--timeout'], specs, 'get')).toThrow(/needs a value/);
    expect(() => secondsOption(parseArgs(['-t', 'soon'], specs, 'get'), 'timeout', 'get')).toThrow(/number of seconds/);
    expect(() => secondsOption(parseArgs(['-t', '-1'], specs, 'get'), 'timeout', 'get')).toThrow(/number of seconds/);
  });
});
