/**
 * A .js file with no import or export in a `"type": "module"` project — typically a CommonJS
 * module (`module.exports = …`) copied into an ES module project. Node would load it as an ES
 * module and fail at `module is not defined` after running its code up to there; as an ES module
 * it could not export anything to host anyway. So `serve` decides before running anything: a
 * file that compiles as a CommonJS function body has no ES module syntax, and is run once as
 * CommonJS, with `require`, `module`, `exports`, `__filename` and `__dirname` as Node gives them.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const COMMONJS_PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'];

export interface CommonJsModule {
  exports: unknown;
  readonly id: string;
  readonly filename: string;
  readonly path: string;
  loaded: boolean;
  readonly children: unknown[];
}

/**
 * The file compiled as a CommonJS module body, or undefined when it has ES module syntax
 * (import, export, import.meta, top-level await) or does not parse: import() it then, and Node
 * reports its real syntax errors.
 */
export function compileAsCommonJs(abs: string): ((module: CommonJsModule) => void) | undefined {
  const source = fs
    .readFileSync(abs, 'utf8')
    .replace(/^\uFEFF/, '')
    .replace(/^#!.*/, ''); // a hashbang line stays a line, so stack traces keep their line numbers
  let body: ReturnType<typeof vm.compileFunction>;
  try {
    body = vm.compileFunction(source, COMMONJS_PARAMETERS, {
      filename: abs,
      // import() inside the module works as in any module of this process.
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
  return (module) => {
    body.call(module.exports, module.exports, createRequire(abs), module, abs, path.dirname(abs));
    module.loaded = true;
  };
}

/** Run a compiled CommonJS body once; its `module.exports`. */
export function runCommonJs(abs: string, run: (module: CommonJsModule) => void): unknown {
  const module: CommonJsModule = { exports: {}, id: abs, filename: abs, path: path.dirname(abs), loaded: false, children: [] };
  run(module);
  return module.exports;
}
