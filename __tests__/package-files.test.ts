/**
 * What `npm pack` ships, read from the real tarball (issue 11 item 9): every source map's sources
 * are in it (so a stack under `--enable-source-maps` names files that exist, and it does), the
 * LICENSE that package.json names, no build output without a source (a stale dist/ file), and
 * every relative link of the shipped Markdown (README.md on the package page, docs/) leads to a
 * shipped file and, with `#anchor`, to a heading in it.
 *
 * `npm test` builds dist/ before jest; run `npm run build` yourself before running this alone.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers';

const run = promisify(execFile);

let dir: string;
let pkg: string; // the extracted package, as in node_modules/remoteobj
let files: string[];

beforeAll(async () => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-pack-'));
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, timeout: 30000 });
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  files = info!.files.map((f) => f.path).sort();
  fs.mkdirSync(path.join(dir, 'node_modules'));
  await run('tar', ['-xzf', path.join(dir, path.basename(info!.filename)), '-C', dir], { timeout: 30000 });
  pkg = path.join(dir, 'node_modules', 'remoteobj');
  fs.renameSync(path.join(dir, 'package'), pkg);
  // Its dependencies, as npm would install them next to it.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
}, 60000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('every source map in the package points at sources the package ships', () => {
  const maps = files.filter((f) => f.endsWith('.map'));
  expect(maps.length).toBeGreaterThan(20);
  const missing: string[] = [];
  for (const map of maps) {
    const { sources, sourcesContent } = JSON.parse(fs.readFileSync(path.join(pkg, map), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    sources.forEach((source, i) => {
      const shipped = path.posix.normalize(path.posix.join(path.posix.dirname(map), source));
      if (!files.includes(shipped) && typeof sourcesContent?.[i] !== 'string') missing.push(`${map} → ${source}`);
    });
  }
  expect(missing).toEqual([]);
});

test('a stack under --enable-source-maps names files that exist in the installed package', async () => {
  const script = `try { require('remoteobj').checkSocketPath(''); } catch (e) { console.log(e.stack); }`;
  const { stdout } = await run(process.execPath, ['--enable-source-maps', '-e', script], { cwd: dir, timeout: 15000 });
  const frames = [...stdout.matchAll(/\((\/[^():]+):\d+:\d+\)/g)].map((m) => m[1]!).filter((f) => f.startsWith(pkg));
  expect(frames.length).toBeGreaterThan(0);
  expect(frames.filter((f) => f.endsWith('.ts'))).not.toEqual([]); // mapped back to the TypeScript
  expect(frames.filter((f) => !fs.existsSync(f))).toEqual([]);
});

test('the package ships the LICENSE that package.json names (MIT)', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { license: string };
  expect(manifest.license).toBe('MIT');
  expect(files).toContain('LICENSE');
  const text = fs.readFileSync(path.join(pkg, 'LICENSE'), 'utf8');
  expect(text).toMatch(/^MIT License/);
  expect(text).toMatch(/Permission is hereby granted, free of charge/);
});

test('no build output without its source: each dist/ module comes from a shipped src/ file', () => {
  const stale = files
    .filter((f) => f.startsWith('dist/') && f.endsWith('.js'))
    .filter((f) => !files.includes(f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')));
  expect(stale).toEqual([]);
  expect(files.filter((f) => /^(__tests__|scripts)\//.test(f) || /\.test\.ts$/.test(f))).toEqual([]);
});

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/(?<!\\)<\/?[a-z][^>]*>/gi, '') // HTML tags; an escaped \<T\> is text
      .replace(/\\(.)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

test('every relative link in the shipped Markdown leads to a shipped file (and heading)', () => {
  const markdown = files.filter((f) => f.endsWith('.md'));
  expect(markdown).toEqual(expect.arrayContaining(['README.md', 'docs/api.md', 'docs/protocol.md']));
  const dead: string[] = [];
  let links = 0;
  for (const doc of markdown) {
    const text = fs.readFileSync(path.join(pkg, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1]!;
      if (/^[a-z]+:/i.test(href)) continue; // https:, mailto:
      links++;
      const [target, anchor] = href.split('#') as [string, string | undefined];
      const file = target ? path.posix.normalize(path.posix.join(path.posix.dirname(doc), target)) : doc;
      if (!files.includes(file)) dead.push(`${doc}: ${href} (no ${file} in the package)`);
      else if (anchor && file.endsWith('.md') && !anchors(fs.readFileSync(path.join(pkg, file), 'utf8')).has(anchor)) dead.push(`${doc}: ${href} (no heading #${anchor} in ${file})`);
    }
  }
  expect(links).toBeGreaterThan(30);
  expect(dead).toEqual([]);
});
