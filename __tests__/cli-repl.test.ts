/**
 * `remoteobj repl`: driven through its stdin (piped, then through a pseudo-terminal for Tab
 * completion), against a host in another process; and the completer on its own.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { Connection } from '../src/client/connection';
import { completeRemote } from '../src/cli/commands/repl';
import { tmpSock, until } from './helpers';
import { APP, BIN, cli, killCliChildren, requireBuild, startServe } from './fixtures/cli-kit';

let sock: string;

beforeAll(async () => {
  requireBuild();
  sock = (await startServe([APP, '--path', tmpSock('repl')])).socketPath;
});
afterAll(killCliChildren);

test('piped input: lines run in order; top-level await, un-awaited remote expressions, errors, .ls, assignment; exit 0 at EOF', async () => {
  const input = [
    'remote.cache.stats.hits', // awaited for you
    'await remote.echo(1, 2n)',
    'const items = await remote.items; items.length',
    'remote.fail("oops")',
    '.ls cache',
    'remote',
    'remote.config.fromRepl = 7',
    'remote.config.fromRepl',
    'await remote.slow(50)',
  ].join('\n');
  const r = await cli(['repl', sock], { input: input + '\n' });
  expect(r.code).toBe(0);
  const outputs = r.stdout.split('remote> ').map((s) => s.trim()).filter(Boolean);
  expect(outputs[0]).toBe('3');
  expect(outputs[1]).toBe('[ 1, 2n ]');
  expect(outputs[2]).toBe('3');
  expect(outputs[3]).toMatch(/^Uncaught RangeError: oops\n\s+at App\.fail \(.*cli-app\.js:\d+:\d+\)\n\s+--- remote: pid \d+ at .*, op 1 \(call\) ---/);
  expect(outputs[4]).toMatch(/^Cache\n {2}stats +property +object\n {2}entries +property +Map\n {2}size +getter +inherited, read-only\n {2}clear\(\) +method +function +inherited$/);
  expect(outputs[5]).toBe(`Remote<${sock}>`);
  expect(outputs[6]).toBe('7');
  expect(outputs[7]).toBe('7'); // the assignment reached the host before the read
  expect(outputs[8]).toBe("'slept 50'");
  expect(outputs).toHaveLength(9);
});

test('no host: exit 3 before any prompt', async () => {
  const r = await cli(['repl', sock + '.missing'], { input: 'remote.x\n' });
  expect(r.code).toBe(3);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^NotListeningError/);
});

describe('completion', () => {
  let conn: Connection;
  beforeAll(async () => {
    conn = await Connection.open(sock, { localBypass: false });
  });
  afterAll(() => conn.close());

  test('completes member names from the host’s describe, along a chain of reads', async () => {
    expect(await completeRemote(conn, 'remote.ca')).toEqual([['cache', 'calls'], 'ca']);
    expect(await completeRemote(conn, 'x = await remote.cache.stats.h')).toEqual([['hits'], 'h']);
    expect(await completeRemote(conn, 'remote.sessions["abc"].u')).toEqual([['user'], 'u']);
    expect(await completeRemote(conn, 'remote.items[0].toUpper')).toEqual([['toUpperCase'], 'toUpper']);
    const all = await completeRemote(conn, 'remote.cache.');
    expect(all).toEqual([['clear', 'entries', 'size', 'stats'], '']);
  });

  test('names the host refuses are not offered; lines without a remote chain fall through (null)', async () => {
    expect(await completeRemote(conn, 'remote._')).toEqual([[], '_']);
    expect((await completeRemote(conn, 'remote.'))![0]).not.toContain('constructor');
    expect(await completeRemote(conn, 'foo.ba')).toBeNull();
    expect(await completeRemote(conn, 'myremote.ca')).toBeNull();
  });

  test('completion never runs a call', async () => {
    const before = (await conn.request([{ op: 'get', key: 'calls' }])) as { value: number };
    expect(await completeRemote(conn, 'remote.echo().')).toBeNull();
    expect(await completeRemote(conn, 'remote.echo(1).le')).toBeNull();
    const after = (await conn.request([{ op: 'get', key: 'calls' }])) as { value: number };
    expect(after.value).toBe(before.value);
  });
});

test('Tab completes in a terminal (a pseudo-terminal through `script`)', async () => {
  if (!fs.existsSync('/usr/bin/script')) return; // util-linux `script` provides the pty
  const child = spawn('/usr/bin/script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} repl ${JSON.stringify(sock)}`, '/dev/null'], {
    env: { ...process.env, NO_COLOR: '1', REMOTEOBJ_REPL_HISTORY: '', TERM: 'xterm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const plain = () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  try {
    await until(() => plain().includes('remote> '));
    child.stdin.write('remote.cac\t');
    await until(() => plain().includes('remote.cache'));
    child.stdin.write('.stats.hi\t');
    await until(() => plain().includes('remote.cache.stats.hits'));
    child.stdin.write('\r');
    await until(() => /remote\.cache\.stats\.hits\n+3\n/.test(plain()));
    // Several candidates: a second Tab lists them.
    child.stdin.write('remote.c\t');
    await until(() => plain().endsWith('remote.c'));
    child.stdin.write('\t');
    await until(() => /cache\s+calls\s+config\s/.test(plain())); // not `control`: the serve control is the library's, unreachable
    child.stdin.write('\x15'); // clear the line
    // Node's own completer evaluates what is before the dot; through an alias, a call must still not be sent.
    await cli(['call', sock, 'queue.pause()']);
    child.stdin.write('const q = remote.queue\r');
    await until(() => /const q = remote\.queue\n+remote> $/.test(plain()));
    child.stdin.write('q.resume().pa\t');
    await until(() => plain().endsWith('q.resume().pa'));
    child.stdin.write('\t');
    child.stdin.write('\x15Math.fl\t'); // and it still completes local names
    await until(() => plain().endsWith('Math.floor'));
    child.stdin.write('\x15');
    expect((await cli(['get', sock, 'queue.paused'])).stdout).toBe('true\n'); // resume() did not run
    child.stdin.write('.exit\r');
    expect(await closed).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
});
