/**
 * `remoteobj batch` (issue 11 item 16): NDJSON requests on stdin, one result line each on
 * stdout, in order, pipelined over one connection, against a real host in another process.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep, tmpSock, until } from './helpers';
import { APP, BIN, cli, killCliChildren, requireBuild, startCli, startServe } from './fixtures/cli-kit';

let sock: string;
let dir: string;

beforeAll(async () => {
  requireBuild();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-batch-'));
  sock = (await startServe([APP, '--path', tmpSock('batch')])).socketPath;
});
afterAll(async () => {
  await killCliChildren();
  fs.rmSync(dir, { recursive: true, force: true });
});

const lines = (...requests: unknown[]) => requests.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
const results = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

test('every request form; results in input order, values in the tagged forms both ways, ids echoed', async () => {
  const r = await cli(['batch', sock], {
    input: lines(
      '"cache.stats"',
      { get: 'items[1]', id: 'second' },
      { call: 'echo(1, {"$bigint": "12345678901234567890"}, {"$date": "2024-01-01T00:00:00.000Z"})', id: 3 },
      { set: 'config.fromBatch', value: { $map: [['k', { $bigint: '1' }]] } },
      '"config.fromBatch"',
      { del: 'config.fromBatch', id: { any: ['json'] } },
      '"config.fromBatch"',
      '{"call": "queue.pause()"}',
      { ls: 'cache.stats' },
      '"self()"',
      '"nothing"',
    ),
  });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  expect(results(r.stdout)).toEqual([
    { ok: true, value: { hits: 3, misses: 1 } },
    { id: 'second', ok: true, value: 'b' },
    { id: 3, ok: true, value: [1, { $bigint: '12345678901234567890' }, { $date: '2024-01-01T00:00:00.000Z' }] },
    { ok: true },
    { ok: true, value: { $map: [['k', { $bigint: '1' }]] } },
    { id: { any: ['json'] }, ok: true },
    { ok: true, value: { $undefined: true } },
    { ok: true, value: { $undefined: true } },
    {
      ok: true,
      value: {
        type: 'object',
        className: 'Object',
        members: [
          { name: 'hits', kind: 'property', type: 'number', own: true, writable: true },
          { name: 'misses', kind: 'property', type: 'number', own: true, writable: true },
        ],
      },
    },
    { ok: true, value: { $self: true } },
    { ok: true, value: { $undefined: true } },
  ]);
  // The output is NDJSON: one document per line, nothing else.
  expect(r.stdout.endsWith('}\n')).toBe(true);
  expect(r.stdout.split('\n')).toHaveLength(12);
});

test('a line that is not a request gets an error result in its place (exit 2); the lines after it still run', async () => {
  const child = startCli(['batch', sock]);
  child.stdin!.end(
    Buffer.concat([
      Buffer.from(
        lines(
          'not json',
          'null', // ndjson's parser would end the stream here
          '42',
          '["get", "a"]',
          { get: 'name', valeu: 1, id: 'typo' },
          { get: 'name', call: 'echo()' },
          { id: 'none' },
          { get: 7 },
          { set: 'config.level' },
          { get: 'name', value: 1 },
          { get: 'cache..stats', id: 'syntax' },
          { call: 'queue.pause' },
          { get: '' },
          { set: 'echo()', value: 1 },
          { set: 'config.level', value: { $bigint: 'x' } },
          '"name"',
        ) + '\n   \n\r\n', // blank lines get no result
      ),
      Buffer.from([0x22, 0xff, 0xfe, 0x22, 0x0a]), // not UTF-8
      Buffer.from('"items"\r\n"name"'), // CRLF, and a last line without a newline
    ]),
  );
  const r = await child.result;
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('');
  const out = results(r.stdout);
  const errors = out.map((o) => o.error as { name: string; message: string; exit: number; column?: number } | undefined);
  expect(out).toHaveLength(19);
  expect(errors[0]).toEqual({ name: 'UsageError', message: expect.stringMatching(/^not JSON: /), exit: 2 });
  expect(errors[1]!.message).toMatch(/^a request is a JSON string \(an expression\) or an object, got null/);
  expect(errors[2]!.message).toMatch(/got number/);
  expect(errors[3]!.message).toMatch(/got an array/);
  expect(out[4]).toEqual({ id: 'typo', ok: false, error: { name: 'UsageError', message: expect.stringMatching(/^unknown key "valeu"/), exit: 2 } });
  expect(errors[5]!.message).toBe('one command per request, got get and call');
  expect(out[6]).toMatchObject({ id: 'none', ok: false, error: { message: expect.stringMatching(/^no command/) } });
  expect(errors[7]!.message).toMatch(/"get" must be an expression in a JSON string/);
  expect(errors[8]!.message).toMatch(/^set needs a "value"/);
  expect(errors[9]!.message).toBe('"value" belongs to set only, not get');
  expect(out[10]).toEqual({ id: 'syntax', ok: false, error: { name: 'SyntaxError', message: 'expected a name after "." (got another ".")', exit: 2, column: 7 } });
  expect(errors[11]!.message).toMatch(/call needs an expression with a call; did you mean "queue.pause\(\)"\?/);
  expect(errors[12]!.message).toMatch(/^get needs an expression/);
  expect(errors[13]).toMatchObject({ name: 'SyntaxError', message: expect.stringMatching(/cannot assign to a call's result/), exit: 2 });
  expect(errors[14]!.message).toMatch(/^bad tagged "value"/);
  expect(out[15]).toEqual({ ok: true, value: 'cli-app' });
  expect(errors[16]).toEqual({ name: 'UsageError', message: 'the line is not UTF-8 text (4 bytes)', exit: 2 });
  expect(out.slice(17)).toEqual([
    { ok: true, value: ['a', 'b', 'c'] },
    { ok: true, value: 'cli-app' },
  ]);
  // Nothing was sent for the bad lines: the set without a value did not reach the host.
  expect((await cli(['get', sock, 'config.level'])).stdout).toBe('"info"\n');
});

test('errors of the host: name, message, code, access rule and the op that threw; exit 1 when that is the worst; --verbose adds stacks', async () => {
  const input = lines({ call: 'fail("boom")', id: 1 }, '"invalid()"', '"constructor.name"', '"getEmitter()"', '"name"');
  const r = await cli(['batch', sock], { input });
  expect(r.code).toBe(1);
  expect(results(r.stdout)).toEqual([
    { id: 1, ok: false, error: { name: 'RangeError', message: 'boom', exit: 1, op: 1, opName: 'call' } },
    { ok: false, error: { name: 'ValidationError', message: 'the input is invalid', exit: 1, code: 'E_INVALID', op: 1, opName: 'call' } },
    { ok: false, error: { name: 'AccessError', message: expect.stringContaining('"constructor"'), exit: 1, code: 'ACCESS_DENIED', rule: 'blocked-name', op: 0, opName: 'get' } },
    { ok: false, error: { name: 'EncodeError', message: expect.stringContaining('EventEmitter'), exit: 1, code: 'NOT_ENCODABLE' } },
    { ok: true, value: 'cli-app' },
  ]);
  const verbose = await cli(['batch', sock, '--verbose'], { input });
  expect(verbose.code).toBe(1);
  expect((results(verbose.stdout)[0]!.error as { stack: string }).stack).toMatch(/^RangeError: boom\n\s+at App\.fail \(.*cli-app\.js/);
  expect(verbose.stderr).toMatch(/remoteobj: 5 request\(s\), 4 failed, in \d+ ms/);
});

test('pipelined, in order, and bounded: reading stops while 64 requests wait, and 10,001 results come out in order', async () => {
  const mark = path.join(dir, 'pipe.mark');
  const go = path.join(dir, 'pipe.go');
  const child = startCli(['batch', sock]);
  // The first request holds the host's lock until `go` exists, writing how many requests wait behind it.
  child.stdin!.write(lines({ call: `hold(${JSON.stringify(mark)}, ${JSON.stringify(go)})`, id: 'hold' }));
  await until(() => fs.existsSync(mark));
  // 10,000 requests, each id padded so the input (about 2.5 MB) is far more than the pipe and
  // socket buffers between here and the batch process can hold.
  const pad = 'x'.repeat(200);
  const many = Array.from({ length: 10_000 }, (_, i) => ({ call: `echo(${i})`, id: `${i} ${pad}` }));
  child.stdin!.write(lines(...many));
  // Sent without waiting for `hold`'s reply: the host has them queued while `hold` still runs...
  await until(() => fs.readFileSync(mark, 'utf8') === '63');
  // ...but no more than the window (64 in flight: `hold` and 63 behind it), and the rest of the
  // input waits unread (what is written here stays in this side's buffer).
  await sleep(300);
  expect(fs.readFileSync(mark, 'utf8')).toBe('63');
  expect(child.stdoutText()).toBe('');
  expect(child.stdin!.writableLength).toBeGreaterThan(1_000_000);

  fs.writeFileSync(go, '');
  child.stdin!.end();
  const r = await child.result;
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  const out = results(r.stdout);
  expect(out[0]).toEqual({ id: 'hold', ok: true, value: 'released' });
  expect(out.slice(1)).toEqual(many.map((m, i) => ({ id: m.id, ok: true, value: [i] })));
});

test('--timeout bounds each request: the one that passes it gets exit 4, the batch goes on', async () => {
  const mark = path.join(dir, 'timeout.mark');
  const go = path.join(dir, 'timeout.go');
  const child = startCli(['batch', sock, '--timeout', '3']);
  child.stdin!.write(lines({ call: `hold(${JSON.stringify(mark)}, ${JSON.stringify(go)})`, id: 'slow' }));
  await until(() => child.stdoutText().includes('\n'));
  fs.writeFileSync(go, ''); // release the host's lock, and wait until it is free again
  expect((await cli(['get', sock, 'name'])).code).toBe(0);
  child.stdin!.end(lines({ get: 'name', id: 'next' }));
  const r = await child.result;
  expect(r.code).toBe(4);
  expect(results(r.stdout)).toEqual([
    { id: 'slow', ok: false, error: { name: 'TimeoutError', message: expect.stringMatching(/no reply .* within 3000 ms/), exit: 4, code: 'TIMEOUT' } },
    { id: 'next', ok: true, value: 'cli-app' },
  ]);
});

test('the host dies mid-batch: the request in flight gets exit 3, reading stops, batch exits 3 with its stdin still open', async () => {
  const mark = path.join(dir, 'die.mark');
  const host = await startServe([APP, '--path', tmpSock('die')]);
  const child = startCli(['batch', host.socketPath]);
  child.stdin!.write(lines({ get: 'name', id: 1 }, { call: `hold(${JSON.stringify(mark)}, ${JSON.stringify(path.join(dir, 'never'))})`, id: 2 }));
  // The first reply has arrived and the second request holds the host: now it dies.
  await until(() => fs.existsSync(mark) && child.stdoutText().includes('\n'));
  host.kill('SIGKILL');
  const r = await child.result;
  expect(r.code).toBe(3);
  expect(results(r.stdout)).toEqual([
    { id: 1, ok: true, value: 'cli-app' },
    { id: 2, ok: false, error: { name: 'ConnectionClosedError', message: expect.stringContaining('closed with the request in flight'), exit: 3, code: expect.any(String) } },
  ]);
});

test('when the reader goes away (| head -n1), batch stops instead of reading its endless input', async () => {
  const shell = spawn('bash', ['-c', `yes '"name"' | ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} batch ${JSON.stringify(sock)} | head -n 1; echo "status \${PIPESTATUS[1]}"`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  shell.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  shell.stderr.resume();
  const code = await new Promise<number | null>((resolve) => shell.once('close', resolve));
  expect(code).toBe(0);
  expect(out).toBe('{"ok":true,"value":"cli-app"}\nstatus 0\n');
});

test('usage: no host is exit 3 with nothing written; --raw/--pretty and a missing SOCKET are exit 2; help lists batch', async () => {
  const [none, raw, missing, help] = await Promise.all([
    cli(['batch', sock + '.missing'], { input: lines('"name"') }),
    cli(['batch', sock, '--raw'], { input: lines('"name"') }),
    cli(['batch']),
    cli(['--help']),
  ]);
  expect([none.code, none.stdout]).toEqual([3, '']);
  expect(none.stderr).toMatch(/^NotListeningError/);
  expect([raw.code, raw.stdout]).toEqual([2, '']);
  expect(raw.stderr).toMatch(/--raw and --pretty do not apply/);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/batch: missing argument \(remoteobj batch SOCKET/);
  expect(help.stdout).toMatch(/\n {2}batch SOCKET +requests from stdin/);
});
