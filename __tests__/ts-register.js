/**
 * The TypeScript hook of the tests' own child processes (helpers.ts spawnTs): `node -r
 * ./__tests__/ts-register.js FILE.ts`. It compiles as ts-node does here (tsconfig.json: swc,
 * transpile only) and as Jest does (jest.config.ts: swc, ES2022, CommonJS), with inline source
 * maps so stacks name the .ts lines, but keeps what it compiled on disk, by content: ts-node
 * loads the TypeScript compiler and runs swc over every file in every child (~0.45 s of CPU
 * before a fixture starts, 50+ children a run), this reads JavaScript after the first time
 * (node_modules/.cache/remoteobj-test-ts/, like Jest's own cache it stays between runs).
 *
 * Only .ts files; a child that fork()s a TypeScript function still gets ts-node from the library
 * (src/process/launch.ts does not know this hook), as a user's program would.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const OPTIONS = {
  jsc: { target: 'es2022', parser: { syntax: 'typescript', explicitResourceManagement: true } },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
// Beside the bench's transpile cache (scripts/bench/compile.ts); keyed by file name and content, so
// checkouts sharing one node_modules do not mix.
const CACHE = path.join(__dirname, '..', 'node_modules', '.cache', 'remoteobj-test-ts');
let swc;
let salt;

function compile(source, filename) {
  if (salt === undefined) {
    const version = require('@swc/core/package.json').version;
    salt = `${version}\0${JSON.stringify(OPTIONS)}\0`;
  }
  const key = crypto.createHash('sha256').update(salt).update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(CACHE, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    /* not compiled yet */
  }
  swc ??= require('@swc/core');
  const { code } = swc.transformSync(source, { ...OPTIONS, filename });
  try {
    fs.mkdirSync(CACHE, { recursive: true, mode: 0o700 });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached); // whole or not at all, for the other children reading it
  } catch {
    /* no cache this time */
  }
  return code;
}

process.setSourceMapsEnabled(true);
Module._extensions['.ts'] = function (module, filename) {
  module._compile(compile(fs.readFileSync(filename, 'utf8'), filename), filename);
};
