/** `remoteobj demo`: the seed's counter example end to end through the built bin, leaving nothing behind. */
import fs from 'node:fs';
import { cli, killCliChildren, requireBuild } from './fixtures/cli-kit';

beforeAll(requireBuild);
afterAll(killCliChildren);

test('narrates every step with its command, output and exit code, checks the counter, and exits 0', async () => {
  const r = await cli(['demo', '--pause', '0.3']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = r.stdout;
  const sock = /--path (\S+remoteobj-demo-\d+\.sock)/.exec(out)![1]!;
  // The host ran in another process and printed its socket path once listening.
  expect(out).toMatch(/\(the host, pid \d+, printed its socket path once listening\)/);
  // The steps, in order, each as the command a user would type.
  const steps = [...out.matchAll(/^\$ remoteobj (\w+)/gm)].map((m) => m[1]);
  expect(steps.slice(0, 5)).toEqual(['serve', 'wait', 'ls', 'call', 'get']);
  expect(steps).toContain('set');
  expect(out).toMatch(/✓ \d+ > \d+: it counts while on/);
  expect(out).toMatch(/✓ (\d+) == \1: it holds while off/);
  expect(out).toMatch(/✓ \d+ > \d+: counting again/);
  expect(out).toMatch(/AccessError: "constructor" is never reachable remotely\n[\s\S]*?\(exit 1: refused by the host; nothing ran\)/);
  expect(out).toMatch(/syntax error at column 7[\s\S]*?\(exit 2/);
  expect(out).toContain('(the host process exited with code 0)');
  expect(out).toMatch(/NotListeningError[\s\S]*?\(exit 3: no host listening any more\)/);
  expect(fs.existsSync(sock)).toBe(false);
});

test('--help describes it with an example; a bad --pause is a usage error', async () => {
  expect((await cli(['demo', '--help'])).stdout).toMatch(/Example:\n {2}remoteobj demo/);
  expect((await cli(['demo', '--pause', 'x'])).code).toBe(2);
});
