/**
 * The seed's Idk walk-through ("基本用法"), JS version: an Array subclass with extra fields,
 * hosted in a child process, used through a proxy exactly as the seed uses it from Python.
 */
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { connect, type Remote, waitUntilListening } from 'remoteobj';
import { exited, killChildren, spawnTs, tmpSock, until } from './helpers';

interface Idk extends Array<number> {
  something: number;
  another: number[];
}

/** Remote<T> types members as read-only, while the proxy sends `remote.x = v`; assign through this view. */
type Writable = { [key: string | number]: unknown };

const FIXTURE = path.join(__dirname, 'fixtures', 'seed-idk.ts');

afterEach(killChildren);

/** The `access <kind> <key>` lines the child has logged so far. */
function accessLog(child: ReturnType<typeof spawnTs>): string[] {
  return child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('access '));
}

test('Idk: push, len, nested push, index read and write, assignment, passto, local descriptions', async () => {
  const sock = tmpSock('idk');
  const child = spawnTs(FIXTURE, [sock]);
  await waitUntilListening(sock, { process: child, timeout: 15000 });
  const remote: Remote<Idk> = await connect<Idk>(sock);

  // r_obj.append(5); assert len(r_obj) == 1
  remote.push(5);
  expect(await remote.$len()).toBe(1);

  // r_obj.another.append(6) -> another == [6]
  remote.another.push(6);
  expect(await remote.another).toEqual([6]);

  // r_obj[0].__ == 5
  expect(await remote[0]).toBe(5);

  // r_obj[0] = 6; r_obj.something = 10 (assignments, sent without await, in order)
  (remote as unknown as Writable)[0] = 6;
  (remote as unknown as Writable).something = 10;
  expect(await remote[0]).toBe(6);
  expect(await remote.something).toBe(10);
  expect(await remote.$len()).toBe(1);

  // r_obj.passto(str): the host's own String() of the object (an Array subclass joins its items).
  expect(await remote.$passto('String')).toBe('6');
  expect(await remote.$passto('JSON.stringify')).toBe('[6]');
  expect(await remote.$passto('Object.keys')).toEqual(['0', 'something', 'another']);

  // The host saw the index write as a set of key 0 on the object itself (stdout may lag the socket).
  await until(() => accessLog(child).includes('access set 0') && accessLog(child).includes('access set something'));

  // str(r_obj) is local: it describes the path and sends nothing. Fence it between two
  // requests with unique log lines (stdout is ordered, so once a fence shows, all before it has).
  expect(await remote.$passto('Boolean')).toBe(true);
  await until(() => accessLog(child).includes('access passto Boolean'));
  const before = accessLog(child).length;

  const abs = path.resolve(sock);
  expect(String(remote)).toBe(`Remote<${abs}>`);
  expect(`${remote[0]}`).toBe(`Remote<${abs}>[0]`);
  expect(String(remote.another.push)).toBe(`Remote<${abs}>.another.push`);
  expect(util.inspect(remote)).toBe(`Remote<${abs}>`);
  expect(util.inspect(remote.another)).toBe(`Remote<${abs}>.another`);
  expect(remote.$path).toBe(`Remote<${abs}>`);

  expect(await remote.$passto('Number')).toBe(6); // Number([6])
  await until(() => accessLog(child).includes('access passto Number'));
  expect(accessLog(child).slice(before)).toEqual(['access passto Number']);

  await remote.$close();
  child.kill('SIGTERM');
  const { code, signal } = await exited(child);
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(fs.existsSync(sock)).toBe(false);
});
