/**
 * host.stats(): connections, handles, streams (the streams the host is producing: handed out and
 * not yet ended) and queued requests, over a real socket. A stream counts from the reply that
 * carries it until it ends: read to its end, left by the client (return), or its connection closed.
 */
import { connect, type Host, ref, serve } from 'remoteobj';
import { tmpSock, until } from './helpers';

const feed = {
  async *count(n: number) {
    for (let i = 0; i < n; i++) yield i;
  },
  async *forever() {
    for (let i = 0; ; i++) yield i;
  },
  open() {
    return ref({ x: 1 });
  },
};

let host: Host<typeof feed>;
beforeEach(async () => {
  host = await serve(feed, tmpSock('stats'), { localBypass: false });
});
afterEach(async () => {
  await host.close();
});

test('stats() counts open streams until they end, are left, or their connection closes', async () => {
  const a = await connect<typeof feed>(host.path, { localBypass: false });
  const b = await connect<typeof feed>(host.path, { localBypass: false });
  expect(host.stats()).toEqual({ connections: 2, handles: 0, streams: 0, queued: 0 });

  const left = await a.forever();
  const done = await a.count(3);
  const kept = await b.forever();
  const handle = await b.open();
  expect(host.stats()).toEqual({ connections: 2, handles: 1, streams: 3, queued: 0 });

  for await (const i of left) if (i === 1) break; // return: the host ends it
  const got: number[] = [];
  for await (const i of done) got.push(i); // read to its end
  expect(got).toEqual([0, 1, 2]);
  await until(() => host.stats().streams === 1);

  for await (const i of kept) if (i === 0) break;
  await handle.$release();
  await until(() => host.stats().streams === 0 && host.stats().handles === 0);

  const again = await b.forever();
  await again.next();
  expect(host.stats().streams).toBe(1);
  await b.$close(); // closing the connection ends what it was reading
  await until(() => host.stats().streams === 0 && host.stats().connections === 1);
  await a.$close();
});
