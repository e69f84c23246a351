/**
 * fork() from whole programs: a TypeScript main script forking its own exports (the issue's
 * example), an unguarded one (no fork bomb), and an ES-module parent.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { exited, killChildren, ROOT, spawnTs } from './helpers';

afterEach(killChildren);

const fixture = (name: string) => path.join(__dirname, 'fixtures', name);

async function jsonOutput(child: ReturnType<typeof spawnTs>): Promise<Record<string, any>> {
  const { code } = await exited(child);
  const line = child
    .output()
    .split('\n')
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON line (exit code ${code}):\n${child.output()}`);
  return JSON.parse(line) as Record<string, any>;
}

test('the issue example as a TypeScript program: its own exports, await using, streaming then the error', async () => {
  const out = await jsonOutput(spawnTs(fixture('proc-main.ts')));
  expect(out).toMatchObject({ name: 'remoteFunc-1', result: 10, seen: [0, 1, 2, 3], error: 'error from child' });
  // an inline function: refused, with where it is defined in the TypeScript source (mapped back from the compiled code)
  const line = fs.readFileSync(fixture('proc-main.ts'), 'utf8').split('\n').findIndex((l) => l.includes('fork((x: number) => x, 1)')) + 1;
  expect(out.inline).toContain(`anonymous function (defined at ${fixture('proc-main.ts')}:${line}:`);
  expect(out.inline).toContain('is not exported');
});

test('a script that forks its own export at top level without a guard gets a clear error, not a fork bomb', async () => {
  const out = await jsonOutput(spawnTs(fixture('proc-unguarded.ts')));
  expect(out.error).toMatch(/fork\(\) was called while this child process was importing .*proc-unguarded\.ts/);
  expect(out.error).toContain('require.main === module');
});

test('an ES-module parent: functions of an ES module by reference, and its own export during top-level await', async () => {
  const child = spawn(process.execPath, ['-r', 'ts-node/register', fixture('proc-esm-parent.mjs')], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const { code, signal } = await exited(child);
  const line = text.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no JSON line (exit code ${code}, signal ${signal}):\n${text}`);
  const out = JSON.parse(line) as Record<string, any>;
  expect(out.mul).toBe(42);
  expect(out.upTo).toEqual([0, 1, 2]);
  expect(out.own.value).toBe(42);
  expect(out.own.pid).not.toBe(out.pid);
  expect(out.inline).toMatch(/anonymous function \(defined at .*proc-esm-parent\.mjs:\d+:\d+\) is not exported/);
});
