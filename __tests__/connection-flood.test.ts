/**
 * Connections that never authenticate cannot crowd out those that do (issue 10 item 4): they have
 * their own small cap (`maxUnauthenticated`) and deadline, the oldest is dropped when a new one
 * comes, and they never take one of the `maxConnections` slots, which now have a default. The
 * host is a real child process; its open file descriptors are counted in /proc.
 */
import { AuthError, LimitError } from 'remoteobj';
import { Cleanup } from './fixtures/host-kit';
import { flood, openFileLimit, startChildHost } from './fixtures/limits-kit';
import { until } from './helpers';

const SECRET = 'flood-test-secret';
/** The documented defaults (docs/security.md, "Limits and timeouts"). */
const DEFAULT_MAX_CONNECTIONS = 256;
const DEFAULT_MAX_UNAUTHENTICATED = 128;
/** File descriptors a host may open besides its clients' (the listening socket, a probe, ...). */
const FD_SLACK = 8;

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

beforeAll(() => {
  const limit = openFileLimit();
  if (limit < 1100) throw new Error(`these tests open 1,000 sockets, but this shell allows ${limit} open files: raise it with ulimit -n 4096`);
});

test('1,000 idle unauthenticated sockets: a client with the secret still connects and is served, earlier ones keep working, and the host holds few of them', async () => {
  const host = await startChildHost(cleanup, { secret: SECRET, maxConnections: 5 });
  const early = await host.client({ secret: SECRET });
  const baseline = (await early.mem()).fds;
  const f = await flood(cleanup, host.path, 1000);
  // Every idle socket was greeted (a hello with a challenge) or dropped, none got a LIMIT refusal.
  expect(f.firstLines.filter((l) => l !== undefined && !l.includes('"kind":"hello"'))).toEqual([]);
  const late = await host.client({ secret: SECRET });
  expect(await late.bump()).toBe(1);
  expect(await early.bump()).toBe(2);
  const fds = (await late.mem()).fds;
  if (process.env.REPORT_FIGURES) process.stdout.write(`flood with a secret, maxConnections 5: host fds ${baseline} -> ${fds}; ${f.closedByHost()} of 1,000 idle sockets closed by the host\n`);
  expect(fds - baseline).toBeLessThanOrEqual(DEFAULT_MAX_UNAUTHENTICATED + 1 + FD_SLACK);
  expect(f.closedByHost()).toBeGreaterThanOrEqual(1000 - DEFAULT_MAX_UNAUTHENTICATED);
});

test('with the defaults, a flood of 1,000 unauthenticated sockets does not take the host’s file descriptors', async () => {
  const host = await startChildHost(cleanup, { secret: SECRET });
  const first = await host.client({ secret: SECRET });
  const baseline = (await first.mem()).fds;
  await flood(cleanup, host.path, 1000);
  const other = await host.client({ secret: SECRET });
  expect(await other.bump()).toBe(1);
  expect((await other.mem()).fds - baseline).toBeLessThanOrEqual(DEFAULT_MAX_UNAUTHENTICATED + 1 + FD_SLACK);
  // A wrong secret is still told so.
  await expect(host.client({ secret: 'wrong' })).rejects.toBeInstanceOf(AuthError);
});

test(`without a secret, connections are capped by default (${DEFAULT_MAX_CONNECTIONS}): the rest are refused with LIMIT and closed`, async () => {
  const host = await startChildHost(cleanup, {});
  const first = await host.client();
  const baseline = (await first.mem()).fds;
  const f = await flood(cleanup, host.path, 1000);
  const refused = f.firstLines.filter((l) => l?.includes('"limit":"maxConnections"')).length;
  if (process.env.REPORT_FIGURES) process.stdout.write(`flood without a secret: ${refused} of 1,000 refused with LIMIT\n`);
  expect(refused).toBe(1000 - (DEFAULT_MAX_CONNECTIONS - 1));
  await until(() => f.closedByHost() >= refused);
  expect((await first.mem()).fds - baseline).toBeLessThanOrEqual(DEFAULT_MAX_CONNECTIONS - 1 + FD_SLACK);
  await expect(host.client()).rejects.toBeInstanceOf(LimitError);
});
