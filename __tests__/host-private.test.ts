/**
 * A Host keeps its state in #private fields (issue 10 item 1, the Host part): nothing of it — the
 * secret, the server, the sockets, the access options — is a property anyone holding the Host can
 * read, enumerate or change. What users need is a getter: path, target, maxMessageBytes,
 * listening, closing, queued, connections.
 */
import { serve } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { tmpSock } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

test('a Host has no own properties, and its prototype only the documented members', async () => {
  const target = { v: 1 };
  const path = tmpSock('priv');
  const policy = () => true;
  const host = cleanup.host(await serve(target, path, { secret: 'hunter2', policy, localBypass: false }));
  expect(Reflect.ownKeys(host)).toEqual([]);
  expect(JSON.stringify(host)).toBe('{}');
  const proto = Object.getPrototypeOf(host) as object;
  expect(Reflect.ownKeys(proto).filter((k) => typeof k === 'symbol')).toEqual([Symbol.asyncDispose]);
  expect(Object.getOwnPropertyNames(proto).sort()).toEqual(
    ['close', 'closing', 'connections', 'constructor', 'exclusive', 'listening', 'maxMessageBytes', 'path', 'processRequests', 'queued', 'stats', 'target'].sort(),
  );
  for (const name of ['secret', 'server', 'sockets', 'sessions', 'lock', 'ctx', 'policy', 'options']) expect((host as unknown as Record<string, unknown>)[name]).toBeUndefined();
  expect([host.path, host.target, host.listening, host.closing, host.queued, host.connections]).toEqual([path, target, true, false, 0, 0]);
  // Getters only: nothing to overwrite.
  expect(() => Object.assign(host, { path: '/elsewhere' })).toThrow(TypeError);
});
