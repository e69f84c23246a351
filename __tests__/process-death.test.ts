/**
 * Children that die without returning, and parents that die: real signals, real process
 * trees. A death always settles `result` with an error naming the exit code or the signal.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fork, type Forked, ProcessExitedError } from 'remoteobj';
import { crashLater, exitWith, killSelf, yieldThenHang } from './fixtures/proc-funcs';
import { exited, killChildren, spawnTs, until } from './helpers';

const started: Forked<any, any>[] = [];
function track<P extends Forked<any, any>>(p: P): P {
  started.push(p);
  return p;
}

/** Pids this suite must make sure are gone at the end (children of a killed parent). */
const orphans = new Set<number>();

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => (p.running ? p.kill('SIGKILL') : undefined)));
  await killChildren();
  for (const pid of orphans) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  orphans.clear();
});

/** Alive and not a zombie (a reparented child may stay a zombie if pid 1 does not reap). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc: kill(0) said it exists
  }
}

function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: unknown) => e as Error,
  );
}

describe('a child that dies without returning', () => {
  test('process.exit(3): result rejects naming the exit code', async () => {
    const p = track(fork(exitWith, 3));
    const err = await failure(p.result);
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect(err.message).toContain('exited with code 3');
    expect(err.message).toContain(p.name);
    expect((err as unknown as { exitCode: number }).exitCode).toBe(3);
    expect(p.exitCode).toBe(3);
  });

  test('a crash (an uncaught exception outside the call): result rejects naming the exit code', async () => {
    const p = track(fork(crashLater));
    const err = await failure(p.result);
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect(err.message).toMatch(/exited with code 1 before returning/);
  });

  test('the child SIGKILLs itself: result and join reject naming the signal', async () => {
    const p = track(fork(killSelf));
    const err = await failure(p.join());
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect(err.message).toContain('was killed by SIGKILL');
    expect((err as unknown as { signal: string }).signal).toBe('SIGKILL');
    expect(p.signalCode).toBe('SIGKILL');
  });

  test('SIGKILL mid-stream: the values already read stay read, the next read rejects, so does result', async () => {
    const p = track(fork(yieldThenHang));
    const it = p[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(1);
    expect((await it.next()).value).toBe(2);
    process.kill(p.pid!, 'SIGKILL');
    const err = await failure(it.next());
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect(err.message).toContain('SIGKILL');
    expect(await failure(p.result)).toBe(err);
  });
});

describe('a parent that dies', () => {
  const PARENT = path.join(__dirname, 'fixtures', 'proc-parent.ts');

  async function pidsFrom(child: ReturnType<typeof spawnTs>): Promise<Record<string, number>> {
    const line = await until(() => child.output().split('\n').find((l) => l.startsWith('{')), { timeout: 20000 });
    return JSON.parse(line!) as Record<string, number>;
  }

  test('kill -9 of the parent: its daemon children are gone (even one busy in sync code); a daemon: false child lives on', async () => {
    const parent = spawnTs(PARENT, ['daemons']);
    const pids = await pidsFrom(parent);
    for (const pid of Object.values(pids)) orphans.add(pid);
    await until(() => Object.values(pids).every(isAlive));
    process.kill(parent.pid!, 'SIGKILL');
    await exited(parent);
    // Generous: on 2 loaded cores a child may still be starting (ts-node) when its parent dies.
    await until(() => !isAlive(pids.daemon!) && !isAlive(pids.busy!), { timeout: 25000 });
    expect(isAlive(pids.nonDaemon!)).toBe(true);
  }, 60000);

  test('a parent with nothing left to do exits by itself, and its daemon child goes with it', async () => {
    const parent = spawnTs(PARENT, ['exit']);
    const pids = await pidsFrom(parent);
    orphans.add(pids.daemon!);
    expect((await exited(parent)).code).toBe(0);
    await until(() => !isAlive(pids.daemon!), { timeout: 25000 });
  });
});
