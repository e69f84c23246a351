/**
 * The secret handshake binds the session that follows (issue 10 item 6). A relay with no secret
 * that passes the handshake through byte for byte must not be able to inject requests of its own,
 * replay a batch of the client's, or forge the host's replies: every line after the handshake is
 * authenticated with keys derived from both nonces and the secret (docs/protocol.md).
 */
import { ConnectionClosedError, connect, type Host, serve } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { attackRelay } from './fixtures/sec-kit';
import { removeFile, tmpSock, until } from './helpers';

const SECRET = 'relay-test-secret';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function target() {
  return {
    ran: 0,
    bump(): number {
      return ++this.ran;
    },
  };
}
type Target = ReturnType<typeof target>;

/** A real host, a relay in front of it, and a genuine client talking to the host through the relay. */
async function relayed() {
  const path = tmpSock('bind');
  const t = target();
  const host: Host<Target> = cleanup.host(await serve(t, path, { secret: SECRET, localBypass: false, closeGraceMs: 500 }));
  const relayPath = tmpSock('mitm');
  const relay = await attackRelay(relayPath, path);
  cleanup.defer(() => relay.close());
  cleanup.defer(() => removeFile(relayPath));
  const remote = cleanup.remote(await connect<Target>(relayPath, { secret: SECRET, localBypass: false }));
  expect(await remote.bump()).toBe(1); // the handshake went through the relay, and the session works
  return { t, host, relay: relay.state, remote };
}

const bumpLine = (id: number) => JSON.stringify({ id, ops: [{ op: 'get', key: 'bump' }, { op: 'call', args: [] }] }) + '\n';

test('a request the relay injects after the handshake never runs; the host hangs up', async () => {
  const { t, relay, remote } = await relayed();
  relay.injectToHost(bumpLine(9001));
  // The genuine client goes on: its next batch's authentication cannot cover the injected line.
  const next = Promise.resolve(remote.bump()).catch((e: unknown) => e);
  await until(() => relay.hostHungUp);
  expect(await next).toBeInstanceOf(ConnectionClosedError);
  expect(t.ran).toBe(1);
  expect(relay.fromHost()).toContain('"code":"AUTH_FAILED"');
  expect(relay.fromHost()).not.toContain('"id":9001');
});

test('a request the relay injects with a made-up authentication line never runs', async () => {
  const { t, relay } = await relayed();
  relay.injectToHost(bumpLine(9002) + JSON.stringify({ mac: '0'.repeat(64) }) + '\n');
  await until(() => relay.hostHungUp);
  expect(t.ran).toBe(1);
  expect(relay.fromHost()).not.toContain('"id":9002');
});

test('a batch of the client’s replayed by the relay does not run again', async () => {
  const { t, relay, remote } = await relayed();
  const before = relay.fromClient().length;
  expect(await remote.bump()).toBe(2);
  const batch = relay.fromClient().slice(before); // the bytes of that one call, as the client sent them
  expect(batch).toContain('"bump"');
  relay.injectToHost(batch);
  await until(() => relay.hostHungUp || t.ran > 2);
  expect(t.ran).toBe(2);
});

test('a reply the relay forges is refused by the client: the request fails instead of resolving to the forgery', async () => {
  const { relay, remote } = await relayed();
  relay.rewriteToClient = (chunk) => chunk.replace(/"kind":"value","value":2\b/, '"kind":"value","value":4242');
  const outcome = await Promise.resolve(remote.bump()).then(
    (v) => v,
    (e: unknown) => e,
  );
  expect(outcome).not.toBe(4242);
  expect(outcome).toBeInstanceOf(ConnectionClosedError);
});
