/** The describe op: what `ls` and REPL completion show, filtered by the host's access rules. */
import { connect, serve } from 'remoteobj';
import { tmpSock } from './helpers';

class Base {
  inherited() {
    return 1;
  }
}
class Service extends Base {
  level = 'info';
  items = [1, 2, 3];
  _secret = 'x';
  started = new Date(0);
  get uptime() {
    return 42;
  }
  pause() {}
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(() => cleanup?.());

test('describe lists own properties, class methods and getters, and hides what access rules refuse', async () => {
  const path = tmpSock();
  const host = await serve(new Service(), path);
  const remote = await connect<Service>(path, { localBypass: false });
  cleanup = async () => {
    await remote.$close();
    await host.close();
  };
  const d = await remote.$describe();
  expect(d.type).toBe('Service');
  expect(d.className).toBe('Service');
  const byName: Record<string, any> = Object.create(null);
  for (const m of d.members) byName[m.name] = m;
  expect(byName.level).toEqual({ name: 'level', kind: 'property', type: 'string', own: true, writable: true });
  expect(byName.items).toMatchObject({ kind: 'property', type: 'array' });
  expect(byName.started).toMatchObject({ kind: 'property', type: 'Date' });
  expect(byName.uptime).toEqual({ name: 'uptime', kind: 'getter', own: false, writable: false });
  expect(byName.pause).toMatchObject({ kind: 'method', type: 'function', own: false });
  expect(byName.inherited).toMatchObject({ kind: 'method', own: false });
  for (const hidden of ['_secret', 'constructor', 'toString', 'hasOwnProperty', '__proto__']) expect(byName[hidden]).toBeUndefined();

  const arr = await remote.items.$describe();
  expect(arr.type).toBe('array');
  expect(arr.length).toBe(3);
  expect(arr.members.map((m) => m.name)).toEqual(expect.arrayContaining(['length', 'push', 'map']));
  expect(arr.members.find((m) => m.name === '0')).toBeUndefined();
});
