/**
 * Process-wide fork state, kept on a global symbol so that two copies of the library in one
 * process (src and dist, two installs) agree.
 */
const KEY = Symbol.for('remoteobj.fork.state');

interface State {
  /** Set in a child while it imports the module that holds its function. */
  loadingTarget?: string;
  /** Names are numbered per process: remoteFunc-1, countTo-2, ... */
  counter: number;
}

function state(): State {
  const g = globalThis as unknown as Record<symbol, State | undefined>;
  return (g[KEY] ??= { counter: 0 });
}

export function setLoadingTarget(module: string | undefined): void {
  state().loadingTarget = module;
}

export function loadingTarget(): string | undefined {
  return state().loadingTarget;
}

export function nextNumber(): number {
  return ++state().counter;
}
