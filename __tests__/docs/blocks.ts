/**
 * The fenced code blocks of README.md and docs/*.md, with the markers that say how the docs test
 * checks each one. The conventions are written down in docs/architecture.md, "Code blocks in the
 * docs"; this module is their one implementation.
 */
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** What the test does with a block. */
export type Check =
  | 'program' // ts/js/python/sh: a file of an example, run (ts: type-checked too)
  | 'types' // ts: type-checked only
  | 'signature' // ts: declarations checked against the real exports' types
  | 'json' // parsed (protocol messages: by the protocol's schemas)
  | 'shell-session' // text: `$ ` commands run, output compared
  | 'wire-session' // text: `>` lines sent to a host, `<` lines compared
  | 'output' // text: compared with what an example printed, or a command printed
  | 'figure' // text: a diagram, a grammar, a synopsis: not code, not output
  | 'not-run'; // anything: a visible reason says why it is not checked

export interface Block {
  /** Path relative to the repository root, e.g. `docs/api.md`. */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The block's text, indentation of the fence removed, ending with a newline. */
  code: string;
  /** Indentation of the fence (for writing a block back). */
  indent: string;
  check: Check;
  /** Example name (program blocks; a block without a marker is its own example). */
  example?: string;
  /** File name inside the example's directory. */
  file?: string;
  /** The socket path this file serves (`serves PATH`): started first, stopped when the others are done. */
  serves?: string;
  /** `fails: REASON`: the example is known not to run yet (a bug being fixed); the test fails once it does. */
  knownFailure?: string;
  /** `output: NAME`: the example whose stdout this block shows; `output: $ CMD`: the command. */
  outputOf?: string;
  /** `not-run`: the visible reason; `types`: the optional reason. */
  reason?: string;
}

/** `<!-- … -->` on its own line. */
const COMMENT = /^\s*<!--\s*(.*?)\s*-->\s*$/;
/** The visible note for a block that is not checked: `*Not run by the docs test: REASON.*` */
const NOT_RUN = /^\s*\*Not (?:run|compared|checked) by the docs test: (.+?)\.?\*\s*$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;

export const LANGS = ['ts', 'js', 'sh', 'python', 'json', 'text'] as const;

/** README.md and every docs/*.md, in a stable order. */
export function docFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export interface Parsed {
  blocks: Block[];
  /** Convention violations, as `doc:line: message`. */
  problems: string[];
}

export function parseDoc(doc: string, text = fs.readFileSync(path.join(ROOT, doc), 'utf8')): Parsed {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  const problems: string[] = [];
  let unnamed = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim().startsWith(fence) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    const where = `${doc}:${i + 1}`;
    const block: Block = { doc, line: i + 1, lang, code: body.join('\n') + '\n', indent, check: 'figure' };
    const marks = markersBefore(lines, i);
    if (!lang) problems.push(`${where}: a fence needs a language (${LANGS.join(', ')})`);
    else if (!(LANGS as readonly string[]).includes(lang)) problems.push(`${where}: unknown fence language "${lang}" (use one of ${LANGS.join(', ')})`);
    classify(block, marks, problems, () => `${doc.replace(/[^\w]+/g, '-')}-${++unnamed}`);
    blocks.push(block);
    i = j;
  }
  return { blocks, problems };
}

/** The marker comments and visible note directly above line `fence` (blank lines between are allowed). */
function markersBefore(lines: string[], fence: number): { comments: string[]; notRun?: string } {
  const comments: string[] = [];
  let notRun: string | undefined;
  for (let k = fence - 1; k >= 0; k--) {
    const l = lines[k]!;
    if (l.trim() === '') continue;
    const c = COMMENT.exec(l);
    if (c) {
      comments.unshift(c[1]!);
      continue;
    }
    const n = NOT_RUN.exec(l);
    if (n && notRun === undefined) {
      notRun = n[1]!;
      continue;
    }
    break;
  }
  return { comments, notRun };
}

const RUNNABLE: Record<string, string> = { ts: 'main.ts', python: 'main.py', sh: 'main.sh' };

function classify(b: Block, marks: { comments: string[]; notRun?: string }, problems: string[], newName: () => string): void {
  const where = `${b.doc}:${b.line}`;
  if (marks.notRun !== undefined) {
    b.check = 'not-run';
    b.reason = marks.notRun;
    if (marks.comments.length) problems.push(`${where}: a block marked "Not run by the docs test" takes no other marker`);
    return;
  }
  if (marks.comments.length > 1) problems.push(`${where}: one marker per block (found ${marks.comments.length})`);
  const marker = marks.comments[0];
  let m: RegExpExecArray | null;
  if (marker === undefined) {
    if (b.lang === 'json') b.check = 'json';
    else if (b.lang === 'text' && /^\$ socat /.test(b.code)) b.check = 'wire-session';
    else if (b.lang === 'text' && b.code.startsWith('$ ')) b.check = 'shell-session';
    else if (b.lang === 'text' && /^[<>] /.test(b.code)) b.check = 'wire-session';
    else if (b.lang === 'js' || RUNNABLE[b.lang]) {
      b.check = 'program';
      b.example = newName();
      b.file = b.lang === 'js' ? (/^\s*(import|export)\b/m.test(b.code) ? 'main.mjs' : 'main.cjs') : RUNNABLE[b.lang];
    } else if (b.lang) {
      problems.push(`${where}: a ${b.lang} block needs a marker: <!-- output -->, <!-- figure -->, or a visible "*Not run by the docs test: why.*" (see docs/architecture.md, "Code blocks in the docs")`);
    }
  } else if ((m = /^example:\s*([\w.-]+)\/([\w.-]+)(?:\s+serves\s+(\S+))?(?:,?\s+fails:\s*(.+))?$/.exec(marker))) {
    b.check = 'program';
    b.example = m[1]!;
    b.file = m[2]!;
    if (m[3]) b.serves = m[3];
    if (m[4]) b.knownFailure = m[4];
    const ext = path.extname(b.file);
    const fits: Record<string, string[]> = { ts: ['.ts', '.mts', '.cts'], js: ['.js', '.mjs', '.cjs'], python: ['.py'], sh: ['.sh'], json: ['.json', '.ndjson', '.jsonl'] };
    const data = b.lang === 'text' && !Object.values(fits).flat().includes(ext); // an input file: .txt, .csv…
    if (!fits[b.lang]?.includes(ext) && !data) problems.push(`${where}: a ${b.lang} block cannot be the file ${b.file}`);
  } else if ((m = /^types only(?::\s*(.+))?$/.exec(marker))) {
    b.check = 'types';
    if (m[1]) b.reason = m[1];
    if (b.lang !== 'ts') problems.push(`${where}: "types only" is for ts blocks`);
  } else if (marker === 'signature') {
    b.check = 'signature';
    if (b.lang !== 'ts') problems.push(`${where}: "signature" is for ts blocks`);
  } else if ((m = /^output(?::\s*(.+))?$/.exec(marker))) {
    b.check = 'output';
    b.outputOf = m[1];
    if (b.lang !== 'text' && b.lang !== 'json') problems.push(`${where}: an output block is text (or json)`);
  } else if (marker === 'figure') {
    b.check = 'figure';
    if (b.lang !== 'text') problems.push(`${where}: a figure is a text block`);
  } else {
    problems.push(`${where}: unknown marker <!-- ${marker} --> (see docs/architecture.md, "Code blocks in the docs")`);
  }
}

/** Every block of every doc, and every convention violation. */
export function allBlocks(only?: string[]): Parsed {
  const out: Parsed = { blocks: [], problems: [] };
  for (const doc of docFiles().filter((d) => !only || only.includes(d))) {
    const p = parseDoc(doc);
    out.blocks.push(...p.blocks);
    out.problems.push(...p.problems);
  }
  return out;
}
