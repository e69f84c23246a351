/**
 * How the child is started: which file (the bootstrap next to this one), which Node flags, and
 * which environment. The child gets this process's Node flags (as child_process.fork does),
 * minus debugger flags whose port would clash. When the bootstrap or the target is TypeScript
 * and none of those flags loads a TypeScript hook (the parent may run under Jest, or have
 * registered ts-node programmatically), `-r ts-node/register` is added, with TS_NODE_PROJECT
 * set to the target's nearest tsconfig.json unless the environment already names one.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TargetSpec } from './messages';

const TS_FILE = /\.(c|m)?tsx?$/;
/** Flags that already make Node understand TypeScript. */
const TS_HOOK = /ts-node|tsx|@swc-node|@swc\/register|esbuild-register|sucrase|@esbuild-kit|tsimp|--experimental-strip-types|--experimental-transform-types/;
/** Flags that open a debugger port: a second process would fail to bind it. */
const DEBUG_FLAG = /^--(inspect|inspect-brk|inspect-wait|inspect-port|debug-port)(=|$)/;

/** The env var that tells the bootstrap which pid its parent has (for the daemon watchdog). */
export const PARENT_PID_ENV = 'REMOTEOBJ_FORK_PARENT_PID';
/** Set to '1' when the child must outlive its parent (daemon: false). */
export const NOT_DAEMON_ENV = 'REMOTEOBJ_FORK_NOT_DAEMON';

export interface LaunchOptions {
  execArgv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  daemon: boolean;
}

export interface LaunchPlan {
  bootstrap: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The bootstrap file: child.js when running compiled, child.ts when running from source. */
export function bootstrapFile(): string {
  const ext = path.extname(__filename);
  const candidate = path.join(__dirname, `child${ext}`);
  if (fs.existsSync(candidate)) return candidate;
  for (const e of ['.js', '.ts']) {
    const p = path.join(__dirname, `child${e}`);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`fork(): cannot find the child bootstrap next to ${__filename}`);
}

export function planLaunch(target: TargetSpec, options: LaunchOptions): LaunchPlan {
  const bootstrap = bootstrapFile();
  const execArgv = options.execArgv ? [...options.execArgv] : defaultExecArgv();
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  const needsTs = TS_FILE.test(bootstrap) || (path.isAbsolute(target.module) && TS_FILE.test(target.module));
  if (needsTs && !execArgv.some((a) => TS_HOOK.test(a))) {
    execArgv.unshift('-r', resolveTsNode(target, options.cwd));
    if (env.TS_NODE_PROJECT === undefined) {
      const project = nearestTsconfig(path.isAbsolute(target.module) ? path.dirname(target.module) : (options.cwd ?? process.cwd()));
      if (project) env.TS_NODE_PROJECT = project;
    }
  }
  env[PARENT_PID_ENV] = String(process.pid);
  if (options.daemon) delete env[NOT_DAEMON_ENV];
  else env[NOT_DAEMON_ENV] = '1';
  return { bootstrap, execArgv, env, cwd: options.cwd };
}

function defaultExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (DEBUG_FLAG.test(a)) continue;
    out.push(a);
  }
  return out;
}

function resolveTsNode(target: TargetSpec, cwd: string | undefined): string {
  const from = [path.isAbsolute(target.module) ? path.dirname(target.module) : undefined, cwd, process.cwd(), __dirname].filter(
    (x): x is string => x !== undefined,
  );
  for (const dir of from) {
    try {
      return require.resolve('ts-node/register', { paths: [dir] });
    } catch {
      /* try the next place */
    }
  }
  throw new Error(
    `fork(): ${target.module} is TypeScript and this process runs no TypeScript hook that a child would inherit, ` +
      `and ts-node cannot be found to add one. Install ts-node, or pass execArgv with your loader (e.g. ['--import', 'tsx']).`,
  );
}

function nearestTsconfig(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const p = path.join(d, 'tsconfig.json');
    if (fs.existsSync(p)) return p;
    if (path.dirname(d) === d) return undefined;
  }
}
