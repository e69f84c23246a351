/**
 * A host's control characters never reach a terminal raw (issue 10 item 13): values, member
 * names, error messages, names, codes and stacks that carry OSC/CSI sequences, carriage returns,
 * C1 controls and bidi overrides are escaped in what the CLI writes to a terminal (a real pty
 * through `script`), and JSON output keeps the exact value; written to a pipe, everything is exact.
 */
import path from 'node:path';
import { ROOT, tmpSock } from './helpers';
import { cli, killCliChildren, requireBuild, startServe } from './fixtures/cli-kit';
import { killPtys, requireScript, startPty } from './fixtures/cli-pty';

const HOSTILE = path.join(ROOT, '__tests__', 'fixtures', 'cli-hostile.js');
const TITLE = '\x1b]0;pwned\x07';
const CLEAR = '\x1b[2J\x1b[H';

let sock: string;

beforeAll(async () => {
  requireBuild();
  requireScript();
  sock = (await startServe([HOSTILE, '--path', tmpSock('hostile')])).socketPath;
});
afterEach(killPtys);
afterAll(killCliChildren);

/** Run `remoteobj ARGS…` on a terminal; what the terminal received, with the pty's \r\n made \n. */
async function onTerminal(...args: string[]): Promise<{ code: number | null; text: string }> {
  const pty = startPty(args);
  const code = await pty.exited;
  return { code, text: pty.raw().replace(/\r\n/g, '\n') };
}

/** Nothing that a terminal would act on: no ESC, no C1, no lone carriage return, no bidi control. */
function expectInert(text: string): void {
  expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
}

test('JSON on a terminal: the same value, with C1 controls and bidi overrides written as \\u escapes', async () => {
  const results = await Promise.all(['title', 'c1', 'bidi', 'nested'].map((e) => onTerminal('get', sock, e)));
  for (const r of results) {
    expect(r.code).toBe(0);
    expectInert(r.text);
  }
  expect(results.map((r) => JSON.parse(r.text))).toEqual([
    `before${TITLE}after`,
    'x\u009b2Jy',
    'user\u202Efdp.exe',
    { [`key${CLEAR}`]: [`value${TITLE}`], when: 'ok' },
  ]);
  expect(results[1]!.text).toBe('"x\\u009b2Jy"\n');
  expect(results[2]!.text).toBe('"user\\u202efdp.exe"\n');
});

test('--raw and --pretty on a terminal: control characters shown as escapes', async () => {
  const [title, overwrite, bidi, pretty, prettyBidi] = await Promise.all([
    onTerminal('get', sock, 'title', '--raw'),
    onTerminal('get', sock, 'overwrite', '--raw'),
    onTerminal('get', sock, 'bidi', '--raw'),
    onTerminal('get', sock, 'nested', '--pretty'),
    onTerminal('get', sock, 'bidi', '--pretty'),
  ]);
  for (const r of [title, overwrite, bidi, pretty, prettyBidi]) {
    expect(r.code).toBe(0);
    expectInert(r.text);
  }
  expect(title.text).toBe('before\\x1B]0;pwned\\x07after\n');
  expect(overwrite.text).toBe('Error: the real one\\rAll good, nothing to see\n');
  expect(bidi.text).toBe('user\\u202Efdp.exe\n');
  expect(pretty.text).toContain("'key\\x1B[2J\\x1B[H'");
  expect(prettyBidi.text).toBe("'user\\u202Efdp.exe'\n");
});

test('errors on a terminal: message, name, code and stack escaped', async () => {
  const [fail, hostile] = await Promise.all([onTerminal('call', sock, 'fail()'), onTerminal('call', sock, 'failHostile()', '--verbose')]);
  expect(fail.code).toBe(1);
  expect(hostile.code).toBe(1);
  expectInert(fail.text);
  expectInert(hostile.text);
  expect(fail.text).toMatch(/^Error: boom\\x1B\]0;pwned\\x07\\x1B\[2J\\x1B\[H\\rfaked line\n/);
  expect(hostile.text).toMatch(/\nHostile\\x1B\[8mError: with a hostile name\n/);
  expect(hostile.text).toContain('code: E\\x1B[2JCODE');
  expect(hostile.text).toMatch(/ {4}Hostile\\x1B\[8mError: with a hostile name\n {4}at Object\.failHostile/);
});

test('ls on a terminal: member names escaped in the table and in --raw', async () => {
  const [table, raw] = await Promise.all([onTerminal('ls', sock, '--pretty'), onTerminal('ls', sock, '--raw')]);
  for (const r of [table, raw]) {
    expect(r.code).toBe(0);
    expectInert(r.text);
  }
  expect(table.text).toMatch(/\n {2}member\\x1B\]0;pwned\\x07 +property +number\n/);
  expect(raw.text).toContain('\nmember\\x1B]0;pwned\\x07\n');
});

test('the REPL on a terminal: values and errors escaped', async () => {
  const pty = startPty(['repl', sock]);
  await pty.waitFor(/remote> $/);
  pty.type('remote.bidi\r');
  await pty.waitFor(/'user\\u202Efdp\.exe'\nremote> $/);
  pty.type('await remote.fail()\r');
  await pty.waitFor(/Uncaught Error: boom\\x1B\]0;pwned\\x07\\x1B\[2J\\x1B\[H\\rfaked line\n[^]*remote> $/);
  pty.type('.ls\r');
  await pty.waitFor(/member\\x1B\]0;pwned\\x07 +property[^]*remote> $/);
  pty.type('.exit\r');
  expect(await pty.exited).toBe(0);
  // The REPL draws with its own cursor sequences; none of the host's got through.
  expect(pty.raw()).not.toContain(TITLE);
  expect(pty.raw()).not.toContain('\x1b[2J');
  expect(pty.raw()).not.toMatch(/[\u009b\u202e]/);
});

test('batch on a terminal: result lines are JSON with the same values, nothing a terminal acts on', async () => {
  const pty = startPty(['batch', sock]);
  pty.type('"bidi"\r{"call": "fail()"}\r');
  await pty.waitFor((screen) => screen.includes('"ok":false'));
  pty.type('\x04'); // end of input
  expect(await pty.exited).toBe(1);
  const results = pty
    .raw()
    .replace(/\r\n/g, '\n')
    .split('\n')
    .filter((l) => l.startsWith('{"ok"'));
  for (const line of results) expectInert(line);
  expect(results.map((l) => JSON.parse(l))).toEqual([
    { ok: true, value: 'user\u202Efdp.exe' },
    { ok: false, error: { name: 'Error', message: `boom${TITLE}${CLEAR}\rfaked line`, exit: 1, op: 1, opName: 'call' } },
  ]);
});

test('to a pipe, output is exact: JSON as JSON.stringify writes it, --raw as the bytes, errors as the host wrote them', async () => {
  const [json, c1, raw, bidi, fail] = await Promise.all([
    cli(['get', sock, 'title']),
    cli(['get', sock, 'c1']),
    cli(['get', sock, 'title', '--raw']),
    cli(['get', sock, 'bidi', '--raw']),
    cli(['call', sock, 'fail()']),
  ]);
  expect(json.stdout).toBe(JSON.stringify(`before${TITLE}after`) + '\n');
  expect(c1.stdout).toBe(JSON.stringify('x\u009b2Jy') + '\n');
  expect(raw.stdout).toBe(`before${TITLE}after\n`);
  expect(bidi.stdout).toBe('user\u202Efdp.exe\n');
  expect(fail.stderr).toBe(`Error: boom${TITLE}${CLEAR}\rfaked line\n  fail()\n      ^^ op 1 (call)\n`);
});
