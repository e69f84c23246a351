/**
 * waitUntilListening(path, { process }) when the child exits before a host listens: the
 * ProcessExitedError carries the last lines of the child's stderr (when it is a pipe), without
 * taking anything from a reader of that stderr; a child whose stderr is not a pipe gets a message
 * that says so. Real child processes that print and exit.
 */
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { ProcessExitedError, waitUntilListening } from 'remoteobj';
import { exited, tmpSock } from './helpers';

const children = new Set<ChildProcess>();
afterEach(async () => {
  await Promise.all(
    [...children].map((c) => {
      const done = exited(c);
      c.kill('SIGKILL');
      return done;
    }),
  );
  children.clear();
});

/** A child that prints 30 numbered lines and a last one to stderr, then exits with code 3 (after `delayMs`). */
function failingService(stdio: StdioOptions = 'pipe', delayMs = 0): ChildProcess {
  const script = `
    for (let i = 1; i <= 30; i++) process.stderr.write('line ' + i + '\\n');
    process.stderr.write('fatal: config missing (/etc/app.json)\\n');
    setTimeout(() => process.exit(3), ${delayMs});`;
  const child = spawn(process.execPath, ['-e', script], { stdio });
  children.add(child);
  return child;
}

async function rejection(p: Promise<unknown>): Promise<ProcessExitedError & { stderr?: string }> {
  const e = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProcessExitedError);
  return e as ProcessExitedError & { stderr?: string };
}

test('the error ends with the last lines of the child stderr (a pipe nobody reads), and has them as err.stderr', async () => {
  const child = failingService('pipe', 300);
  const err = await rejection(waitUntilListening(tmpSock('wse'), { process: child, timeout: 20000 }));
  expect(err.message).toContain('code 3');
  expect(err.message).toMatch(/its stderr ended with \(last 20 lines at most\):\n {2}line 12\n[\s\S]* {2}line 30\n {2}fatal: config missing \(\/etc\/app\.json\)$/);
  expect(err.message).not.toContain('line 11\n'); // the last 20 lines only
  expect(err.stderr).toBe([...Array.from({ length: 19 }, (_, i) => `line ${i + 12}`), 'fatal: config missing (/etc/app.json)'].join('\n'));
});

test('a child that wrote nothing; a child that had exited before the call (Node has dropped its unread output)', async () => {
  const quiet = spawn(process.execPath, ['-e', 'process.exit(4)'], { stdio: 'pipe' });
  children.add(quiet);
  const err = await rejection(waitUntilListening(tmpSock('wse'), { process: quiet, timeout: 20000 }));
  expect(err.message).toMatch(/code 4\) before a host listened on .* \(it wrote nothing to its stderr\)$/);
  expect(err.stderr).toBe('');
  await exited(quiet);
  const late = await rejection(waitUntilListening(tmpSock('wse'), { process: quiet, timeout: 20000 }));
  expect(late.message).toMatch(/\(it had exited before waitUntilListening was called: what its stderr held, if anything, was gone\)$/);
});

test("a reader of the child's stderr still gets every line", async () => {
  const child = failingService('pipe', 300);
  let read = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (read += d));
  const ended = new Promise((resolve) => child.stderr!.once('end', resolve));
  const err = await rejection(waitUntilListening(tmpSock('wse'), { process: child, timeout: 20000 }));
  expect(err.message).toContain('fatal: config missing');
  await ended;
  expect(read.split('\n')).toHaveLength(32); // 31 lines and the empty rest after the last newline
  expect(read).toContain('line 1\n');
});

test("a child whose stderr is not a pipe: the message says so (nothing to show)", async () => {
  const child = failingService(['ignore', 'ignore', 'ignore'], 0);
  const err = await rejection(waitUntilListening(tmpSock('wse'), { process: child, timeout: 20000 }));
  expect(err.message).toMatch(/its stderr is not a pipe/);
  expect(err.stderr).toBeUndefined();
});
