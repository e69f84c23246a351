/**
 * Issue 13 item 1, release by collection: a stand-in for the far side's function that nobody
 * holds any more is released when the garbage collector takes it (FinalizationRegistry; the
 * import table holds stand-ins through WeakRefs), so a long-lived client that passes many
 * distinct closures leaks on neither side. Runs in a child with --expose-gc (Jest runs without
 * it): host and client share that process, over a real socket.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { exited, killChildren, ROOT, tmpSock } from './helpers';

afterAll(killChildren);

test('collected stand-ins are released both ways; held ones keep their identity and work', async () => {
  const child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'fixtures/release-gc.js'), path.join(ROOT, 'dist/index.js'), tmpSock('gc')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  expect(await exited(child)).toEqual({ code: 0, signal: null });
  expect(err).toBe('');
  expect(JSON.parse(out)).toEqual({
    clientFreed: 200, // every closure the host dropped is free in the client too
    hostDroppedFreed: true, // the host function the client dropped is free in the host
    hostKeptAlive: true,
    sameWhileHeld: true,
    droppedWorked: 2,
    stay: 'stay',
    kept: 15,
    stats: { connections: 1, handles: 0, streams: 0, queued: 0 },
  });
});
