/**
 * Type-check every ts block of the docs in ONE TypeScript program (one program for ~100 blocks
 * takes seconds; one per block would take minutes): each block is a module of its own, strict,
 * with `remoteobj` resolved to src/index.ts (the public API and nothing else).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { type Block, ROOT } from './blocks';

export interface SourceFile {
  /** Path relative to the check's root directory. */
  rel: string;
  text: string;
  /** The block the text comes from (line 1 of the text is the line after the fence). */
  block: Block;
  /** Lines of generated text before the block's own first line. */
  offset?: number;
}

/** What a user of the package would have: strict, ES2022, resolving like tsx (and bundlers) do. */
export const DOC_COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
  module: ts.ModuleKind.Preserve,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  moduleDetection: ts.ModuleDetectionKind.Force,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
  typeRoots: [path.join(ROOT, 'node_modules', '@types')],
  paths: { remoteobj: [path.join(ROOT, 'src', 'index.ts')] },
};

/** Diagnostics per block, as `doc:line: message` (line in the doc), for the files given. */
export function typecheck(files: SourceFile[]): Map<Block, string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ro-doc-tsc-'));
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    const byPath = new Map<string, SourceFile>();
    for (const f of files) {
      const abs = path.join(dir, f.rel);
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, f.text);
      byPath.set(abs, f);
    }
    const program = ts.createProgram([...byPath.keys()], DOC_COMPILER_OPTIONS);
    const out = new Map<Block, string[]>();
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const f = d.file ? byPath.get(path.normalize(d.file.fileName)) : undefined;
      if (d.file && !f) continue; // src/ and libraries: `npm run typecheck` checks those
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!f) {
        const first = files[0]!.block;
        out.set(first, [...(out.get(first) ?? []), `(whole program) TS${d.code}: ${message}`]);
        continue;
      }
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      const docLine = f.block.line + 1 + line - (f.offset ?? 0);
      const where = line < (f.offset ?? 0) ? `${f.block.doc}:${f.block.line} (generated check)` : `${f.block.doc}:${docLine}`;
      out.set(f.block, [...(out.get(f.block) ?? []), `${where}: TS${d.code}: ${message}`]);
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The names src/index.ts exports (values and types), for signature checks. */
export function publicNames(): Set<string> {
  const index = fs.readFileSync(path.join(ROOT, 'src', 'index.ts'), 'utf8');
  const names = new Set<string>();
  for (const m of index.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop()!.trim();
      if (name) names.add(name);
    }
  }
  return names;
}

/**
 * A `signature` block (`name<T>(params): Result`, one per line) as a module that checks each line
 * against the real export both ways: the documented function is assignable to the real one's
 * type and the real one to the documented type. Consecutive lines of one name are its overloads,
 * checked together (serve(target, path) and serve(target, { port })).
 */
export function signatureModule(block: Block, exported: Set<string>): { text: string; offset: number } {
  const lines = block.code.split('\n');
  const used = new Set<string>();
  const checks: string[] = [];
  const decls: string[] = [];
  let previous: { name: string; id: number } | undefined;
  lines.forEach((raw, i) => {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line) {
      decls.push('');
      previous = undefined;
      return;
    }
    const m = /^([A-Za-z_$][\w$]*)\s*(<.*?>)?\s*\((.*)\)\s*:\s*(.+?);?$/.exec(line);
    if (!m) {
      decls.push(`/* not a signature: ${line.replace(/\*\//g, '')} */ const __bad${i}: never = 0;`);
      previous = undefined;
      return;
    }
    const [, name, generics = '', params, result] = m as unknown as [string, string, string | undefined, string, string];
    for (const id of `${params} ${result} ${generics}`.match(/[A-Za-z_$][\w$]*/g) ?? []) if (exported.has(id) && id !== name) used.add(id);
    const overload = previous?.name === name;
    const id = overload ? previous!.id : i;
    previous = { name, id };
    decls.push(`declare function __doc${id}${generics}(${params}): ${result};`);
    if (!overload) checks.push(`export const __real${id}: typeof __api.${name} = __doc${id};`, `export const __back${id}: typeof __doc${id} = __api.${name};`);
  });
  const header = [`import * as __api from 'remoteobj';`, used.size ? `import type { ${[...used].join(', ')} } from 'remoteobj';` : ''];
  return { text: [...header, ...decls, ...checks].join('\n') + '\n', offset: header.length };
}
