import { connect, serve } from 'remoteobj';
import { tmpSock } from './helpers';

test('a hosted object answers a property read over the socket', async () => {
  const path = tmpSock();
  const host = await serve({ count: 3 }, path);
  const remote = await connect<{ count: number }>(path, { localBypass: false });
  expect(await remote.count).toBe(3);
  await remote.$close();
  await host.close();
});
