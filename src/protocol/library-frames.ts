/**
 * The library's own stack frames, told apart from the user's. An error the library makes on the
 * host (AccessError, LimitError, AuthError, the lock's TimeoutError, evaluate's TypeErrors...)
 * has a stack of library frames only, naming the host's file paths: nothing a client can use,
 * and a disclosure. On the wire such an error keeps only the frames of user code (often none:
 * then its stack is `Name: message`); errors that user code throws keep their stacks whole.
 *
 * Only errors pay for this, never a successful request.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The package's root: this file is <root>/src/protocol/ or <root>/dist/protocol/. */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Where the library's code is: dist/ when built, src/ from sources (ts-node, Jest), and src/ also
 * for built code whose frames source maps point back to. As paths (CommonJS) and file URLs (ESM).
 */
const LIBRARY_DIRS = ['src', 'dist'].flatMap((d) => {
  const dir = path.join(PACKAGE_ROOT, d) + path.sep;
  return [dir, pathToFileURL(dir).href];
});

/** A stack line that is a frame: `    at ...`. */
const FRAME = /^\s+at /;

/** Frames that name no file of anyone's: Node's internals, built-ins (`<anonymous>`, `native`), `Promise.all (index 0)`. */
const NO_FILE = /\((?:node:|<anonymous>|native|index \d+)|^\s+at (?:async )?node:/;

function isLibraryFrame(line: string): boolean {
  return LIBRARY_DIRS.some((dir) => line.includes(dir));
}

/** The lines of `stack` that are frames, after the header (`Name: message`, which may span lines). */
function frameStart(stack: string, header: string): number {
  return stack.startsWith(header) ? header.split('\n').length : 1;
}

/**
 * True when the error was made by the library itself: its first frame that names a file is the
 * library's. (A library class is always library-made: see isLibraryMadeClass in error-wire.ts.)
 */
export function thrownByLibrary(stack: string, header: string): boolean {
  const lines = stack.split('\n');
  for (let i = frameStart(stack, header); i < lines.length; i++) {
    const line = lines[i]!;
    if (!FRAME.test(line)) return false; // a `--- remote ---` marker before any frame: made elsewhere
    if (NO_FILE.test(line)) continue;
    return isLibraryFrame(line);
  }
  return false;
}

/** The stack with only the user's frames: the library's, Node's and built-ins' frames are dropped; other lines stay. */
export function withoutLibraryFrames(stack: string, header: string): string {
  const lines = stack.split('\n');
  const start = frameStart(stack, header);
  const kept = lines.slice(0, start);
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    if (FRAME.test(line) && (NO_FILE.test(line) || isLibraryFrame(line))) continue;
    kept.push(line);
  }
  return kept.join('\n');
}
