/**
 * Every fenced block of README.md and docs/*.md is checked, so the docs cannot drift from the
 * code: ts blocks are type-checked (one program for all) and run, sh/js/python blocks run,
 * shell and wire sessions are replayed against real hosts and compared, json is parsed, and a
 * block that cannot be checked says why, visibly. The conventions: docs/architecture.md, "Code
 * blocks in the docs". `UPDATE_DOCS=1 npx jest __tests__/docs-snippets.test.ts` writes what the
 * runs printed (normalised) into the compared blocks.
 *
 * Runs the built package (dist/) as a user would: `npm test` builds it before jest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { allBlocks, type Block, ROOT } from './docs/blocks';
import { docRunner, type Example, type ExampleRun, type SessionRun, variable } from './docs/runs';
import { BIN, killAll, normalise, pool, removeSandboxes } from './docs/sandbox';
import { publicNames, signatureModule, type SourceFile, typecheck } from './docs/typecheck';
import { CancelMessage, Hello, Reply, Request } from '../src/protocol/messages';

const UPDATE = process.env.UPDATE_DOCS === '1';
/** While editing one doc: DOCS_ONLY=README.md,docs/api.md checks only those (the whole set is the default). */
const ONLY = process.env.DOCS_ONLY?.split(',');
const { blocks, problems } = allBlocks(ONLY);

const { examples, filesOf, runExample, failureOf, runShellSession, shellCommands, runWireSession, nearestExample } = docRunner(blocks, problems);

// --- the runs, all started at once (a few at a time), each test awaits its own --------------------

const limit = pool<unknown>(5);
const exampleRuns = new Map<string, Promise<ExampleRun>>();
const sessionRuns = new Map<Block, Promise<SessionRun>>();
const updates: { block: Block; text: string }[] = [];

function exampleRun(ex: Example): Promise<ExampleRun> {
  let p = exampleRuns.get(ex.key);
  if (!p) exampleRuns.set(ex.key, (p = limit(() => runExample(ex)) as Promise<ExampleRun>));
  return p;
}

function sessionRun(b: Block, run: () => Promise<SessionRun>) {
  let p = sessionRuns.get(b);
  if (!p) sessionRuns.set(b, (p = limit(run) as Promise<SessionRun>));
  return p;
}

let typeErrors: Map<Block, string[]>;

beforeAll(() => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
  // Start every run now, so they overlap with the type check and with each other.
  for (const ex of examples.values()) void exampleRun(ex);
  for (const b of blocks) {
    if (b.check === 'shell-session') void sessionRun(b, () => runShellSession(b, shellCommands(b.code)));
    if (b.check === 'wire-session') void sessionRun(b, () => runWireSession(b));
    if (b.check === 'output' && b.outputOf?.startsWith('$ ')) void sessionRun(b, () => runShellSession(b, [b.outputOf!.slice(2)]));
  }
  const exported = publicNames();
  const files: SourceFile[] = [];
  for (const ex of examples.values()) {
    for (const f of filesOf(ex)) {
      if (f.lang === 'ts') files.push({ rel: `${ex.key.replace(/[^\w]+/g, '-')}/${f.file}`, text: f.code, block: f });
    }
  }
  for (const b of blocks) {
    if (b.check === 'types') files.push({ rel: `${b.doc.replace(/[^\w]+/g, '-')}-${b.line}/main.ts`, text: b.code, block: b });
    if (b.check === 'signature') {
      const { text, offset } = signatureModule(b, exported);
      files.push({ rel: `${b.doc.replace(/[^\w]+/g, '-')}-${b.line}/signature.ts`, text, block: b, offset });
    }
  }
  typeErrors = typecheck(files);
}, 120000);

afterAll(async () => {
  await Promise.allSettled([...exampleRuns.values(), ...sessionRuns.values()]);
  await killAll();
  removeSandboxes();
  if (UPDATE) writeUpdates();
});

/** UPDATE_DOCS=1: put what the runs printed into the compared blocks. */
function writeUpdates(): void {
  const byDoc = new Map<string, { block: Block; text: string }[]>();
  for (const u of updates) byDoc.set(u.block.doc, [...(byDoc.get(u.block.doc) ?? []), u]);
  for (const [doc, list] of byDoc) {
    const file = path.join(ROOT, doc);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const { block, text } of list.sort((a, b) => b.block.line - a.block.line)) {
      const old = block.code.replace(/\n$/, '').split('\n').length;
      lines.splice(block.line, old, ...text.split('\n').map((l) => (l ? block.indent + l : l)));
    }
    fs.writeFileSync(file, lines.join('\n'));
  }
}

/** Compare a doc's block with what really happened; under UPDATE_DOCS=1, record it instead. */
function compare(b: Block, actual: string, expected = b.code): void {
  if (UPDATE) {
    if (variable(actual) !== variable(expected)) updates.push({ block: b, text: actual.replace(/\n+$/, '') });
    return;
  }
  expect({ where: `${b.doc}:${b.line}`, text: variable(actual) }).toEqual({ where: `${b.doc}:${b.line}`, text: variable(expected) });
}

// --- the tests -----------------------------------------------------------------------------------

const count = (check: Block['check']) => blocks.filter((b) => b.check === check).length;

test('every block has a language and a known marker (docs/architecture.md, "Code blocks in the docs")', () => {
  expect(problems).toEqual([]);
});

test(`${blocks.length} blocks: ${count('program')} run, ${count('types') + count('signature')} type-checked only, ${
  count('shell-session') + count('wire-session') + count('output')
} compared, ${count('json')} parsed, ${count('figure')} figures, ${count('not-run')} not run (with a visible reason)`, () => {
  const notRun = blocks.filter((b) => b.check === 'not-run');
  for (const b of notRun) expect({ where: `${b.doc}:${b.line}`, reason: b.reason!.length >= 10 }).toEqual({ where: `${b.doc}:${b.line}`, reason: true });
  // Most blocks are checked by more than reading.
  if (!ONLY) expect(blocks.length).toBeGreaterThan(50);
  if (!ONLY) expect(notRun.length + count('figure')).toBeLessThan(blocks.length / 3);
});

/** test.each, or a note when DOCS_ONLY leaves nothing of a kind (test.each refuses an empty table). */
function each<T>(rows: (readonly [string, T])[], fn: (label: string, item: T) => unknown, timeout?: number): void {
  if (rows.length) test.each(rows)('%s', fn as (label: string, item: T) => void, timeout);
  else test('(none)', () => undefined);
}

const label = (b: Block) => `${b.doc}:${b.line} ${b.lang}${b.example ? ` ${b.example}/${b.file}` : ''}`;

describe('ts blocks type-check (strict, against the public API)', () => {
  const ts = blocks.filter((b) => b.lang === 'ts' && b.check !== 'not-run');
  each(ts.map((b) => [label(b), b] as const), (_label, b) => {
    expect(typeErrors.get(b) ?? []).toEqual([]);
  });
});

const exampleLabel = (ex: Example) => `${ex.doc} ${ex.name} (${ex.files.map((f) => `${f.file}:${f.line}`).join(', ')})`;
async function expectRuns(ex: Example): Promise<void> {
  const run = await exampleRun(ex);
  expect(run.problems).toEqual([]);
  expect(run.runs.map((r) => failureOf(r, run.dir)).filter(Boolean)).toEqual([]);
}
const knownFailure = (ex: Example) => ex.files.find((f) => f.knownFailure)?.knownFailure;

describe('programs run and exit 0, with nothing on stderr', () => {
  each(
    [...examples.values()].filter((ex) => !knownFailure(ex)).map((ex) => [exampleLabel(ex), ex] as const),
    (_label, ex) => expectRuns(ex),
    90000,
  );
  // Marked `fails: REASON` (a bug being fixed elsewhere): this fails once the example runs; then drop the mark.
  for (const ex of [...examples.values()].filter(knownFailure)) {
    test.failing(`${exampleLabel(ex)} does not run yet: ${knownFailure(ex)}`, () => expectRuns(ex), 90000);
  }
});

describe('sessions and outputs match a real run', () => {
  const compared = blocks.filter((b) => b.check === 'shell-session' || b.check === 'wire-session' || b.check === 'output');
  each(
    compared.map((b) => [label(b), b] as const),
    async (_label, b) => {
      if (b.check === 'output' && !b.outputOf?.startsWith('$ ')) {
        const [name, file] = (b.outputOf ?? '').split('/');
        const ex = b.outputOf ? examples.get(`${b.doc}#${name}`) : nearestExample(b);
        expect(ex ? ex.key : `no example for the output at ${b.doc}:${b.line}`).toBe(ex?.key);
        const run = await exampleRun(ex!);
        const printed = run.runs.filter((r) => !r.server && (!file || r.block.file === file));
        expect(printed.length).toBe(1);
        compare(b, normalise(printed[0]!.result.stdout, run.dir));
        return;
      }
      const { actual, problems: why } = await sessionRuns.get(b)!;
      expect(why).toEqual([]);
      if (b.check === 'output') compare(b, actual.split('\n').slice(1).join('\n'));
      else compare(b, actual);
    },
    90000,
  );
});

describe('json blocks parse (protocol messages by the protocol schemas)', () => {
  each(blocks.filter((b) => b.lang === 'json' && b.check !== 'not-run').map((b) => [label(b), b] as const), (_label, b) => {
    let values: unknown[];
    try {
      values = [JSON.parse(b.code)];
    } catch {
      values = b.code
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as unknown);
    }
    for (const v of values) {
      const o = v as Record<string, unknown>;
      const schema = 'ops' in o ? Request : o.kind === 'hello' ? Hello : o.kind === 'cancel' ? CancelMessage : 'id' in o && 'kind' in o ? Reply : undefined;
      if (schema) expect({ line: JSON.stringify(v), ok: schema.safeParse(v).success }).toEqual({ line: JSON.stringify(v), ok: true });
    }
  });
});
