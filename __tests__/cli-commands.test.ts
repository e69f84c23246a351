/**
 * The built `remoteobj` bin as a child process against a real host (`remoteobj serve` on
 * fixtures/cli-app.js, in its own process): every one-shot command, the output forms, every
 * exit code, and malicious expressions refused by the host without running.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, tmpSock } from './helpers';
import { APP, cli, type CliResult, killCliChildren, requireBuild, startServe } from './fixtures/cli-kit';

let sock: string;

beforeAll(async () => {
  requireBuild();
  sock = (await startServe([APP, '--path', tmpSock('cli')])).socketPath;
});
afterAll(killCliChildren);

const run = (...args: string[]) => cli(args);
const ok = (r: CliResult) => {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.stdout;
};

describe('get', () => {
  test('prints the value as one line of JSON', async () => {
    const [hits, stats, item, session, deep] = await Promise.all([
      run('get', sock, 'cache.stats.hits'),
      run('get', sock, 'cache.stats'),
      run('get', sock, '.items[1]'),
      run('get', sock, 'sessions["abc"]'),
      run('get', sock, 'config.nested.deep[2]'),
    ]);
    expect(ok(hits)).toBe('3\n');
    expect(JSON.parse(ok(stats))).toEqual({ hits: 3, misses: 1 });
    expect(ok(item)).toBe('"b"\n');
    expect(ok(session)).toBe('{"user":"ann"}\n');
    expect(ok(deep)).toBe('{"x":"y"}\n');
  });

  test('values beyond JSON print in the codec’s tagged forms; the hosted object itself as {"$self":true}', async () => {
    const out = await Promise.all(['big', 'when', 'tags', 'cache.entries', 'nothing', 'self()'].map((e) => run('get', sock, e).then(ok)));
    expect(out).toEqual([
      '{"$bigint":"12345678901234567890"}\n',
      '{"$date":"2024-05-06T07:08:09.010Z"}\n',
      '{"$set":["x","y"]}\n',
      '{"$map":[["a",1],["b",2]]}\n',
      '{"$undefined":true}\n',
      '{"$self":true}\n',
    ]);
  });

  test('--raw prints strings, BigInts and dates as they are, undefined as nothing; other values stay JSON', async () => {
    const out = await Promise.all(['text', 'big', 'when', 'nothing', 'cache.stats', 'name'].map((e) => run('get', sock, e, '--raw').then(ok)));
    expect(out).toEqual(['multi\nline "quoted"\n', '12345678901234567890\n', '2024-05-06T07:08:09.010Z\n', '', '{"hits":3,"misses":1}\n', 'cli-app\n']);
  });

  test('--pretty prints for people (Node’s notation, not JSON)', async () => {
    expect(ok(await run('get', sock, 'cache.entries', '--pretty'))).toBe("Map(2) { 'a' => 1, 'b' => 2 }\n");
    expect(ok(await run('get', sock, 'big', '--pretty'))).toBe('12345678901234567890n\n');
  });

  test('an empty expression is a usage error pointing at ls', async () => {
    const r = await run('get', sock, '');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/get needs an expression.*ls/);
  });
});

describe('call', () => {
  test('runs a chain with calls and JSON arguments, once, and prints what it returns', async () => {
    const before = Number(ok(await run('get', sock, 'calls')));
    const r = await run('call', sock, 'echo(1, "two", {"three": [3]}, null, {"$bigint": "4"}, {"$date": "2024-01-01T00:00:00.000Z"})');
    expect(ok(r)).toBe('[1,"two",{"three":[3]},null,{"$bigint":"4"},{"$date":"2024-01-01T00:00:00.000Z"}]\n');
    expect(Number(ok(await run('get', sock, 'calls')))).toBe(before + 1);
    // Arguments arrive as real values on the host, not as JSON text.
    expect(ok(await run('call', sock, 'typeOf({"$bigint": "4"})'))).toBe('"[object BigInt]:bigint"\n');
    expect(ok(await run('call', sock, 'setLevel("debug", {"sticky": true})'))).toBe('{"level":"debug","opts":{"sticky":true}}\n');
    expect(ok(await run('get', sock, 'config.level'))).toBe('"debug"\n');
  });

  test('a method returning undefined prints nothing; one returning a sub-object prints it', async () => {
    expect(ok(await run('call', sock, 'queue.pause()'))).toBe('');
    expect(ok(await run('get', sock, 'queue.paused'))).toBe('true\n');
    expect(JSON.parse(ok(await run('call', sock, 'queue.resume()')))).toEqual({ paused: false, items: ['job1', 'job2'] });
  });

  test('an expression without a call is a usage error that suggests the call', async () => {
    const r = await run('call', sock, 'queue.pause');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("did you mean 'queue.pause()'");
  });

  test('a result that is not data: exit 1 with EncodeError (the call did run)', async () => {
    const r = await run('call', sock, 'getEmitter()');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^EncodeError: cannot send an instance of EventEmitter at result/);
  });
});

describe('set and del', () => {
  test('set assigns a JSON value (any form), prints nothing; --raw takes a plain string', async () => {
    expect(ok(await run('set', sock, 'config.limit', '{"maxBytes": 1048576, "at": {"$date": "2024-01-01T00:00:00.000Z"}}'))).toBe('');
    expect(ok(await run('get', sock, 'config.limit'))).toBe('{"maxBytes":1048576,"at":{"$date":"2024-01-01T00:00:00.000Z"}}\n');
    expect(ok(await run('set', sock, 'config["offset"]', '-1'))).toBe('');
    expect(ok(await run('get', sock, 'config.offset'))).toBe('-1\n');
    expect(ok(await run('set', sock, 'config.mode', 'fast lane', '--raw'))).toBe('');
    expect(ok(await run('get', sock, 'config.mode'))).toBe('"fast lane"\n');
  });

  test('a bare word as VALUE is a syntax error that says how to quote it', async () => {
    const r = await run('set', sock, 'config.mode', 'fast');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`write '"fast"' for a string, or use --raw`);
  });

  test('set and del need a property at the end: a call there is a syntax error at its column', async () => {
    const r = await run('set', sock, 'queue.pause()', '1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/column 12: cannot assign to a call's result/);
    const d = await run('del', sock, 'echo()');
    expect(d.code).toBe(2);
    expect((await run('del', sock, '')).code).toBe(2);
  });

  test('del deletes a property', async () => {
    await run('set', sock, 'sessions["tmp"]', '{"user": "tmp"}').then(ok);
    expect(ok(await run('del', sock, 'sessions["tmp"]'))).toBe('');
    expect(ok(await run('get', sock, 'sessions.tmp', '--allow-missing'))).toBe('{"$undefined":true}\n');
  });
});

describe('ls', () => {
  test('JSON by default: type, class and members (kind, type, own, writable); private names left out', async () => {
    const d = JSON.parse(ok(await run('ls', sock)));
    expect(d).toMatchObject({ type: 'App', className: 'App' });
    const byName = new Map((d.members as { name: string }[]).map((m) => [m.name, m]));
    expect(byName.get('cache')).toEqual({ name: 'cache', kind: 'property', type: 'Cache', own: true, writable: true });
    expect(byName.get('echo')).toEqual({ name: 'echo', kind: 'method', type: 'function', own: false, writable: true });
    expect(byName.get('uptime')).toEqual({ name: 'uptime', kind: 'getter', own: false, writable: false });
    expect(byName.has('_secret')).toBe(false);
    expect(byName.has('constructor')).toBe(false);
  });

  test('of a chain’s value; --raw: one name a line; --pretty: a table', async () => {
    expect(ok(await run('ls', sock, 'cache', '--raw'))).toBe('stats\nentries\nsize\nclear\n');
    const table = ok(await run('ls', sock, 'cache', '--pretty'));
    expect(table.split('\n')[0]).toBe('Cache');
    expect(table).toMatch(/^ {2}entries +property +Map *$/m);
    expect(table).toMatch(/^ {2}clear\(\) +method +function +inherited$/m);
    expect(table).toMatch(/^ {2}size +getter +inherited, read-only$/m);
    expect(ok(await run('ls', sock, 'items', '--pretty')).split('\n')[0]).toBe('array (length 3)');
  });
});

describe('exit codes and stderr', () => {
  test('1: the remote operation threw → `Name: message` on stderr, pointing at the op', async () => {
    const r = await run('call', sock, 'fail("boom")');
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe('RangeError: boom\n  fail("boom")\n      ^^^^^^^^ op 1 (call)\n');
    const v = await run('call', sock, 'invalid()');
    expect(v.code).toBe(1);
    expect(v.stderr.split('\n')[0]).toBe('ValidationError: the input is invalid');
    const t = await run('get', sock, 'nope.deeper', '--allow-missing');
    expect(t.code).toBe(1);
    expect(t.stderr.split('\n')[0]).toMatch(/^TypeError: Cannot read properties of undefined/);
  });

  test('1 with --verbose: the remote stack, code and origin; and the ops that were sent', async () => {
    const r = await run('call', sock, 'invalid()', '--verbose');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('remoteobj: sending ops [{"op":"get","key":"invalid"},{"op":"call","args":[]}]');
    expect(r.stderr).toContain('code: E_INVALID');
    expect(r.stderr).toMatch(/at App\.invalid \(.*cli-app\.js:\d+:\d+\)/);
    expect(r.stderr).toMatch(/--- remote: pid \d+ at .*, op 1 \(call\) ---/);
  });

  test('2: usage errors (command, option, arguments) and syntax errors; nothing is sent', async () => {
    const cases = await Promise.all([
      run('frobnicate'),
      run('get', sock, 'x', '--nope'),
      run('get', sock),
      run('get', sock, 'a', 'b'),
      run('get', sock, 'x', '--raw', '--pretty'),
      run('get', sock, 'x', '--timeout', 'soon'),
      run('get', sock, 'cache..stats'),
      run(),
      run('get', '', 'x'),
      run('get', `/tmp/${'x'.repeat(120)}.sock`, 'x'),
    ]);
    for (const r of cases) expect(r.code).toBe(2);
    expect(cases[0]!.stderr).toMatch(/unknown command "frobnicate"/);
    expect(cases[1]!.stderr).toMatch(/unknown option --nope for "get"\nRun 'remoteobj get --help'/);
    expect(cases[2]!.stderr).toMatch(/missing argument/);
    expect(cases[3]!.stderr).toMatch(/too many arguments.*quote the expression/);
    expect(cases[6]!.stderr).toBe('remoteobj: syntax error at column 7: expected a name after "." (got another ".")\n  cache..stats\n        ^\n');
    expect(cases[7]!.stderr).toMatch(/^Usage: remoteobj COMMAND/);
    expect(cases[9]!.stderr).toMatch(/over this platform's limit/);
  });

  test('3: no host listening, a stale socket file, something that is not a remoteobj host', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-cli-'));
    const stale = path.join(dir, 'stale.sock');
    const liar = path.join(dir, 'liar.sock');
    // A stale socket: a server that listened and was killed without unlinking.
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(stale, r));
    const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
    expect(fd).toBeGreaterThan(0);
    // Not a remoteobj host: greets with something else.
    const other = net.createServer((c) => c.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((r) => other.listen(liar, r));
    try {
      const [missing, notHost] = await Promise.all([run('get', sock + '.missing', 'x'), run('get', liar, 'x')]);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/^NotListeningError: no host is listening on .*\(ENOENT\)/);
      expect(notHost.code).toBe(3);
      expect(notHost.stderr).toMatch(/^ProtocolError: .* did not greet as a remoteobj host/);
    } finally {
      await new Promise((r) => other.close(r));
      await new Promise((r) => s.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('3: a stale socket file (ECONNREFUSED)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-cli-'));
    const stale = path.join(dir, 'stale.sock');
    try {
      // Leave a socket file behind with a host that dies without closing.
      const host = await startServe([APP, '--path', stale]);
      host.kill('SIGKILL');
      await host.result;
      expect(fs.existsSync(stale)).toBe(true);
      const r = await run('get', stale, 'name');
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^NotListeningError: .*ECONNREFUSED/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('4: --timeout, for a reply that does not come and for a host that never says hello', async () => {
    const silent = tmpSock('silent');
    const server = net.createServer(() => undefined); // accepts, says nothing
    await new Promise<void>((r) => server.listen(silent, r));
    const own = await startServe([APP, '--path', tmpSock('hang')]);
    try {
      const [reply, hello] = await Promise.all([run('call', own.socketPath, 'hang()', '--timeout', '0.3'), run('get', silent, 'x', '-t', '0.3')]);
      expect(reply.code).toBe(4);
      expect(reply.stderr).toMatch(/^TimeoutError: no reply from .* within \d+ ms \(the request may still run on the host\)/);
      expect(hello.code).toBe(4);
      expect(hello.stderr).toMatch(/^TimeoutError: no hello from a host/);
    } finally {
      own.kill('SIGKILL');
      await new Promise((r) => server.close(r));
    }
  });
});

describe('malicious expressions are refused by the host and never run', () => {
  const mark = path.join(os.tmpdir(), `ro-cli-pwned-${process.pid}`);
  const code = `require('fs').writeFileSync(${JSON.stringify(mark)}, 'pwned')`;

  test.concurrent.each([
    ['call', `constructor.constructor("return process")()`, /"constructor" is never reachable/],
    ['call', `constructor.constructor(${JSON.stringify(code)})()`, /"constructor" is never reachable/],
    ['call', `cache.clear.constructor(${JSON.stringify(code)})()`, /"constructor" is never reachable/],
    ['call', `echo["constructor"]["constructor"](${JSON.stringify(code)})()`, /"constructor" is never reachable/],
    ['get', '__proto__', /"__proto__" is never reachable/],
    ['get', 'cache.__proto__.clear', /"__proto__" is never reachable/],
    ['get', 'items.__proto__', /"__proto__" is never reachable/],
    ['get', '["__proto__"]["polluted"]', /"__proto__" is never reachable/],
    ['get', '_secret', /names starting with "_" are private/],
    ['call', 'echo.call(null, 1)', /only defined by Function\.prototype/],
    ['call', 'cache.__defineGetter__("x", {})', /"__defineGetter__": names starting with "_" are private/],
    ['get', 'sessions.hasOwnProperty', /only defined by Object\.prototype/],
  ])('%s %s → exit 1, AccessError', async (command, expr, message) => {
    const r = await run(command, sock, expr);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toMatch(/^AccessError: /);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(mark)).toBe(false);
  });

  test('set/del through __proto__ or constructor are refused; nothing is polluted', async () => {
    const results = await Promise.all([
      run('set', sock, '__proto__.polluted', 'true'),
      run('set', sock, 'config.__proto__.polluted', 'true'),
      run('set', sock, 'constructor.prototype.polluted', 'true'),
      run('set', sock, 'config["__proto__"]', '{"polluted": true}'),
      run('del', sock, 'cache.constructor'),
    ]);
    for (const r of results) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^AccessError: "(__proto__|constructor)" is never reachable/);
    }
    expect(ok(await run('get', sock, 'config.polluted', '--allow-missing'))).toBe('{"$undefined":true}\n');
    expect(ok(await run('get', sock, 'sessions.def.polluted', '--allow-missing'))).toBe('{"$undefined":true}\n');
    expect(ok(await run('get', sock, 'name'))).toBe('"cli-app"\n'); // the host is fine
  });

  test('text that is not the grammar (JavaScript) is a syntax error and is never sent', async () => {
    for (const expr of ['process.exit(1); 1', 'require("child_process").execSync("id")', '(() => process)()', 'x || process', '`${process}`']) {
      const r = await run('call', sock, expr, '--verbose');
      if (r.code === 2) {
        expect(r.stderr).toMatch(/^remoteobj: syntax error at column \d+/);
        expect(r.stderr).not.toContain('sending ops'); // never reached the host
      } else {
        // `require("child_process").execSync("id")` is grammatical: it is sent, and the host has no `require` (exit 5: no such member).
        expect(r.code).toBe(5);
        expect(r.stderr).toMatch(/^MissingMemberError: the hosted object \(App\) has no member "require"/m);
      }
    }
  });
});

describe('--help and --version', () => {
  test('every command has --help with a usage line and an example; exit 0 on stdout', async () => {
    const commands = ['get', 'call', 'set', 'del', 'ls', 'wait', 'repl', 'serve', 'demo'];
    const results = await Promise.all(commands.map((c) => run(c, '--help')));
    results.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: remoteobj ${commands[i]}`));
      expect(r.stdout).toMatch(/Examples?:\n {2}remoteobj /);
    });
    const main = await run('--help');
    expect(main.code).toBe(0);
    for (const c of commands) expect(main.stdout).toMatch(new RegExp(`^ {2}${c} `, 'm'));
    expect((await run('help', 'set')).stdout).toBe(results[2]!.stdout);
  });

  test('--version prints package.json’s version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await run('--version')).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    expect((await run('-V')).stdout).toBe(`${pkg.version}\n`);
  });
});
