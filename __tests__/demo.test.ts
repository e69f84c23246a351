/**
 * `npm run demo` (scripts/demo.ts) works: run it as npm would (node + ts-node), with its host in a
 * real child process, and check that it exits 0 having narrated every step the README promises.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exited, killChildren, spawnTs, until } from './helpers';

const DEMO = path.join(__dirname, '..', 'scripts', 'demo.ts');

afterEach(killChildren);

test('the demo drives a Counter in another process through every step and exits 0', async () => {
  const demo = spawnTs(DEMO);
  const { code, signal } = await exited(demo);
  const out = demo.output();
  expect({ code, signal, out: code === 0 ? '' : out }).toEqual({ code: 0, signal: null, out: '' });

  // The steps come in order, each with the line that shows it happened.
  const expected = [
    /1\. Start a host child process serving a Counter on (\S+\.sock)/,
    /\[host \d+\] serving a Counter on/,
    /listening/,
    /connected: Remote<\S+\.sock>/,
    /count: \d+ -> \d+ -> \d+ -> \d+\n\s+rising/,
    /count after toggle\(false\): (\d+); then: \1 -> \1 -> \1 -> \1\n\s+holding/,
    /host pid (\d+) \(this process is \d+\)/,
    /caught RangeError \(instanceof RangeError: true\): count must be a whole number >= 0, got -1/,
    /\bsetCount\b.*demo-host\.ts:\d+/,
    /--- remote: pid \d+ at \S+\.sock, op 1 \(call\) ---/,
    /at (async )?demo \(.*demo\.ts/,
    /Stop by plain assignment/,
    // The host's line and the demo's own "connection closed" come from two processes: either may print first.
    /\[host \d+\] stop is set \(count ended at \d+\): closing the host/,
    /host exited with code 0\n/,
    /socket file is gone: \S+\.sock/,
    /Demo finished in [\d.]+ s: every step behaved as described\./,
  ];
  let at = 0;
  for (const re of expected) {
    const m = re.exec(out.slice(at));
    if (!m) throw new Error(`demo output lacks ${re} after position ${at}:\n${out}`);
    at += m.index + m[0].length;
  }

  expect(out).toMatch(/stop is set; connection closed/);

  // It really was another process, and it left no socket file behind.
  const hostPid = Number(/host pid (\d+)/.exec(out)![1]);
  expect(hostPid).not.toBe(demo.pid);
  const sock = /serving a Counter on (\S+\.sock)/.exec(out)![1]!;
  expect(fs.existsSync(sock)).toBe(false);
});

test('when a step fails, the demo says which and why, exits non-zero and leaves no host running', async () => {
  // A temp dir so deep that the demo's socket path is over the platform's limit: the host cannot listen.
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-demo-'));
  const deep = path.join(base, 'x'.repeat(110));
  fs.mkdirSync(deep);
  try {
    const demo = spawnTs(DEMO, [], { TMPDIR: deep });
    const { code } = await exited(demo);
    const out = demo.output();
    expect(code).toBe(1);
    expect(out).toMatch(/demo failed at step 2: socket path is \d+ bytes, over this platform's limit/);
    expect(out).not.toMatch(/Demo finished/);
    const hostPid = Number(/child pid (\d+)/.exec(out)![1]);
    // The demo killed it on the way out (it may take a moment to be reaped).
    await until(() => !isRunning(hostPid), { timeout: 5000 });
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
