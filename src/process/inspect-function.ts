/**
 * Ask V8 about a function, through the in-process inspector (`node:inspector`, synchronous):
 * where it is defined (its script's URL, line and column in the code V8 ran), whether that script
 * is an ES module, and which top-level bindings of that module hold it. Nothing is loaded or
 * evaluated: this only looks at what is already in memory.
 *
 * Only the main context is asked. Code inside a vm context (Jest) is not found there, so it gets
 * no answer: evaluating in other contexts can crash Node 20 (a context that is listed but no
 * longer usable, seen with ts-node loaded).
 */
import inspector from 'node:inspector';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type AnyFn = (...args: any[]) => unknown;

export interface FunctionFacts {
  /** The script's URL as V8 knows it (a file: URL for modules, a path for CommonJS), if any. */
  url?: string;
  /** A file path, when the script is a file. */
  file?: string;
  /** 1-based line and column in the code V8 ran (compiled code, for TypeScript). */
  line: number;
  column: number;
  /** The script is an ES module. */
  isModule: boolean;
  /** Names of the top-level bindings of its ES module that hold this very function (asked for with `bindings`). */
  bindings: string[];
}

type Post = <T>(method: string, params?: object) => T | undefined;

/** Facts about `fn`, or undefined for a native or bound function, or one outside the main context. */
export function inspectFunction(fn: AnyFn, options: { bindings?: boolean } = {}): FunctionFacts | undefined {
  let session: inspector.Session | undefined;
  const slot = `__remoteobjInspect${process.pid}_${Date.now()}`;
  try {
    session = new inspector.Session();
    session.connect();
    const s = session;
    // The in-process session answers synchronously: each post's callback has run when post returns.
    const post: Post = <T>(method: string, params?: object) => {
      let out: T | undefined;
      s.post(method as 'Runtime.evaluate', params as inspector.Runtime.EvaluateParameterType, (err, res) => {
        if (!err) out = res as T;
      });
      return out;
    };
    (globalThis as Record<string, unknown>)[slot] = fn;
    const fnId = post<inspector.Runtime.EvaluateReturnType>('Runtime.evaluate', { expression: `globalThis[${JSON.stringify(slot)}]` })?.result;
    if (fnId?.type !== 'function' || !fnId.objectId) return undefined;
    const own = post<inspector.Runtime.GetPropertiesReturnType>('Runtime.getProperties', { objectId: fnId.objectId, ownProperties: true });
    const internal = (name: string) => own?.internalProperties?.find((p) => p.name === name)?.value;
    const loc = internal('[[FunctionLocation]]')?.value as { scriptId: string; lineNumber: number; columnNumber: number } | undefined;
    if (!loc) return undefined;

    const script = scriptOf(s, loc.scriptId);
    const url = script?.url || undefined;
    let file: string | undefined;
    if (url?.startsWith('file:')) file = fileURLToPath(url);
    else if (url && path.isAbsolute(url)) file = url;
    const isModule = script?.isModule === true;
    const scopes = internal('[[Scopes]]')?.objectId;
    const bindings = options.bindings && isModule && scopes ? moduleBindingsHolding(post, scopes, fnId.objectId) : [];
    return { url, file, line: loc.lineNumber + 1, column: loc.columnNumber + 1, isModule, bindings };
  } catch {
    return undefined;
  } finally {
    delete (globalThis as Record<string, unknown>)[slot];
    session?.disconnect();
  }
}

/** The script's URL and kind: enabling the debugger replays a scriptParsed event for every script. */
function scriptOf(s: inspector.Session, scriptId: string): { url: string; isModule?: boolean } | undefined {
  let found: { url: string; isModule?: boolean } | undefined;
  const onScript = (m: inspector.InspectorNotification<inspector.Debugger.ScriptParsedEventDataType>) => {
    if (m.params.scriptId === scriptId) found = { url: m.params.url, isModule: m.params.isModule };
  };
  s.on('Debugger.scriptParsed', onScript);
  try {
    s.post('Debugger.enable', {}, () => {});
    s.post('Debugger.disable', {}, () => {});
  } finally {
    s.off('Debugger.scriptParsed', onScript);
  }
  return found;
}

/**
 * The module-level bindings (in the function's Module scope) whose value is this very function:
 * `add` for `export function add`, `a` for `export const a = make()`. An inline arrow or a closure
 * kept nowhere at top level has none.
 */
function moduleBindingsHolding(post: Post, scopesId: string, fnId: string): string[] {
  const scopes = post<inspector.Runtime.GetPropertiesReturnType>('Runtime.getProperties', { objectId: scopesId, ownProperties: true });
  const moduleScope = scopes?.result.find((p) => p.value?.description === 'Module')?.value?.objectId;
  if (!moduleScope) return [];
  const vars = post<inspector.Runtime.GetPropertiesReturnType>('Runtime.getProperties', { objectId: moduleScope, ownProperties: true });
  const names: string[] = [];
  for (const v of vars?.result ?? []) {
    if (v.value?.type !== 'function' || !v.value.objectId) continue;
    const same = post<inspector.Runtime.CallFunctionOnReturnType>('Runtime.callFunctionOn', {
      objectId: v.value.objectId,
      functionDeclaration: 'function (f) { return this === f; }',
      arguments: [{ objectId: fnId }],
      returnByValue: true,
    });
    if (same?.result.value === true) names.push(v.name);
  }
  return names;
}
