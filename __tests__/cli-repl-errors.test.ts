/**
 * `remoteobj repl` keeps going after an error of any kind — a remote error that was awaited, a
 * local rejection that was awaited, a synchronous throw, a typo — both with piped input and in
 * a real terminal, where `.exit` still quits (issue 11 item 1).
 */
import { tmpSock } from './helpers';
import { APP, type CliResult, killCliChildren, requireBuild, startCli, startServe } from './fixtures/cli-kit';
import { killPtys, requireScript, startPty } from './fixtures/cli-pty';

let sock: string;

beforeAll(async () => {
  requireBuild();
  requireScript();
  sock = (await startServe([APP, '--path', tmpSock('replerr')])).socketPath;
});
afterEach(killPtys);
afterAll(killCliChildren);

/** `remoteobj repl` with piped input; a REPL that stops answering is killed and reported with what it printed. */
async function pipedRepl(lines: string[]): Promise<CliResult> {
  const child = startCli(['repl', sock], { input: lines.join('\n') + '\n' });
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the REPL froze; it printed:\n${child.stdoutText()}`));
    }, 25000);
  });
  try {
    return await Promise.race([child.result, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

const outputsOf = (r: CliResult) => r.stdout.split('remote> ').map((s) => s.trim()).filter(Boolean);

describe('piped input: the lines after an error still run, in order, and the REPL exits 0 at the end', () => {
  test('an awaited remote error', async () => {
    const r = await pipedRepl(['await remote.fail("boom")', 'remote.name', 'await remote.echo(1)']);
    const out = outputsOf(r);
    expect(out[0]).toMatch(/^Uncaught RangeError: boom\n/);
    expect(out.slice(1)).toEqual(["'cli-app'", '[ 1 ]']);
    expect(r.code).toBe(0);
  });

  test('an awaited local rejection', async () => {
    const r = await pipedRepl(['await Promise.reject(new Error("local"))', '1 + 1', 'remote.name']);
    const out = outputsOf(r);
    expect(out[0]).toMatch(/^Uncaught Error: local\n/);
    expect(out.slice(1)).toEqual(['2', "'cli-app'"]);
    expect(r.code).toBe(0);
  });

  test('synchronous throws: a typo and a throw statement', async () => {
    const r = await pipedRepl(['nosuch', 'remote.name', 'throw new TypeError("sync")', 'remote.items']);
    const out = outputsOf(r);
    expect(out[0]).toMatch(/^Uncaught ReferenceError: nosuch is not defined/);
    expect(out[1]).toBe("'cli-app'");
    expect(out[2]).toMatch(/^Uncaught TypeError: sync/);
    expect(out[3]).toBe("[ 'a', 'b', 'c' ]");
    expect(r.code).toBe(0);
  });

  test('several errors in a row, then work that depends on the order', async () => {
    const r = await pipedRepl([
      'await remote.fail("one")',
      'await remote.invalid()',
      'remote.config.afterErrors = 1',
      'await Promise.reject(new Error("two"))',
      'remote.config.afterErrors',
    ]);
    const out = outputsOf(r);
    expect(out[0]).toMatch(/^Uncaught RangeError: one/);
    // Node's inspect names the class and the error's own name when they differ: a custom error from the host is a RemoteError named ValidationError.
    expect(out[1]).toMatch(/^Uncaught RemoteError \[ValidationError\]: the input is invalid/);
    expect(out[2]).toBe('1');
    expect(out[3]).toMatch(/^Uncaught Error: two/);
    expect(out[4]).toBe('1');
    expect(out).toHaveLength(5);
    expect(r.code).toBe(0);
  });
});

test('piped input: a multi-line function and object after an awaited line are read as typed', async () => {
  const r = await pipedRepl([
    'await remote.slow(50)',
    'function twice(x) {',
    '  return 2 * x;',
    '}',
    'twice(await remote.cache.stats.hits)',
    'const o = {',
    '  a: 1,',
    '}',
    'o.a',
    'remote.name',
  ]);
  expect(r.code).toBe(0);
  expect(r.stdout).not.toContain('Uncaught');
  const values = r.stdout
    .split(/remote> |\.\.\. /)
    .map((s) => s.trim())
    .filter(Boolean);
  expect(values).toEqual(["'slept 50'", '6', '1', "'cli-app'"]);
});

describe('in a terminal (a pseudo-terminal through `script`)', () => {
  test('after an awaited remote error the next line runs, and .exit quits with 0', async () => {
    const pty = startPty(['repl', sock]);
    await pty.waitFor(/remote> $/);
    pty.type('await remote.fail("boom")\r');
    await pty.waitFor(/Uncaught RangeError: boom\n[^]*remote> $/);
    pty.type('remote.name\r');
    await pty.waitFor(/remote\.name\n'cli-app'\nremote> $/);
    pty.type('.exit\r');
    expect(await pty.exited).toBe(0);
  });

  test('after an awaited local rejection and a typo, the REPL still answers; .exit quits with 0', async () => {
    const pty = startPty(['repl', sock]);
    await pty.waitFor(/remote> $/);
    pty.type('await Promise.reject(new Error("local"))\r');
    await pty.waitFor(/Uncaught Error: local\n[^]*remote> $/);
    pty.type('nosuch\r');
    await pty.waitFor(/Uncaught ReferenceError: nosuch is not defined[^]*remote> $/);
    pty.type('await remote.echo("still here")\r');
    await pty.waitFor(/\[ 'still here' \]\nremote> $/);
    pty.type('.exit\r');
    expect(await pty.exited).toBe(0);
  });

  test('a multi-line function pasted in one go is read as typed', async () => {
    const pty = startPty(['repl', sock]);
    await pty.waitFor(/remote> $/);
    pty.type('function thrice(x) {\r  return 3 * x;\r}\rthrice(await remote.cache.stats.hits)\r');
    await pty.waitFor(/\n9\nremote> $/);
    expect(pty.plain()).not.toContain('Uncaught');
    pty.type('.exit\r');
    expect(await pty.exited).toBe(0);
  });
});
