/**
 * Strict member reads (a request's `strict` field): a member that does not exist is a
 * MissingMemberError that names it and the reachable members it may have meant, instead of
 * `undefined`. Only on the error path, so nothing here is on a request's way when all is well.
 */
import { type AccessOptions, checkAccess, rootPrototypeKind } from './access';
import { MissingMemberError } from './errors';

/** Names looked at for suggestions: enough for any class, bounded for a huge object. */
const MAX_CANDIDATES = 2000;
/** Suggestions are not looked for past this key length (the distance costs length²). */
const MAX_KEY_LENGTH = 64;
const MAX_SUGGESTIONS = 3;

/** The error for `key` missing on `target` (what a get, super or del op found). */
export function missingMemberError(target: unknown, key: string, kind: 'get' | 'super' | 'del', atRoot: boolean, access: AccessOptions): MissingMemberError {
  if (Array.isArray(target) && /^(0|[1-9]\d*)$/.test(key)) {
    return new MissingMemberError(`index ${key} is out of range: the array has ${target.length} element${target.length === 1 ? '' : 's'}`, key, []);
  }
  const suggestions = closeMembers(target, key, atRoot, access);
  const what = kind === 'super' ? `the class above (${(isObject(target) && classOf(target)) || 'an object'})` : `${atRoot ? 'the hosted object' : 'the value'} (${typeName(target)})`;
  const hint = suggestions.length ? `; did you mean ${suggestions.map((n) => `"${n}"`).join(' or ')}?` : '';
  const text = kind === 'del' ? `cannot delete "${key}": ${what} has no such member${hint}` : `${what} has no member "${key}"${hint}`;
  return new MissingMemberError(text, key, suggestions);
}

/**
 * Reachable member names of `target` close to `key`: the same spelling in another case, one a
 * few edits away (Damerau-Levenshtein: a swapped pair counts as one edit), or one that starts
 * with it. Names the access rules refuse are never suggested: a suggestion must not reveal
 * `_private` or unexposed names.
 */
export function closeMembers(target: unknown, key: string, atRoot: boolean, access: AccessOptions): string[] {
  if (target === null || target === undefined || key.length === 0 || key.length > MAX_KEY_LENGTH) return [];
  const lower = key.toLowerCase();
  const limit = key.length <= 3 ? 1 : key.length <= 7 ? 2 : 3;
  const scored: { name: string; score: number }[] = [];
  let looked = 0;
  for (const name of memberNames(Object(target) as object)) {
    if (++looked > MAX_CANDIDATES) break;
    if (name === key || name.length > MAX_KEY_LENGTH) continue;
    const nameLower = name.toLowerCase();
    let score: number;
    if (nameLower === lower) score = 0;
    else if (key.length >= 3 && nameLower.startsWith(lower)) score = 1;
    else {
      const d = distance(lower, nameLower, limit);
      if (d > limit) continue;
      score = d;
    }
    try {
      checkAccess({ kind: 'get', target, key: name, atRoot, path: [name] }, access);
    } catch {
      continue;
    }
    scored.push({ name, score });
  }
  scored.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  return scored.slice(0, MAX_SUGGESTIONS).map((s) => s.name);
}

/** Own and class member names, up to (not including) Object.prototype / Function.prototype; array indexes left out. */
function* memberNames(o: object): Generator<string> {
  const seen = new Set<string>();
  const array = Array.isArray(o);
  for (let p: object | null = o; p !== null && rootPrototypeKind(p) === undefined; p = Object.getPrototypeOf(p) as object | null) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (seen.has(name) || (array && p === o && /^\d+$/.test(name))) continue;
      seen.add(name);
      yield name;
    }
  }
}

/** Optimal string alignment distance between a and b, giving up (returning limit + 1) past `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      row.push(v);
      if (v < best) best = v;
    }
    if (best > limit) return limit + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}

const isObject = (v: unknown): v is object => v !== null && (typeof v === 'object' || typeof v === 'function');

/** The name of the class whose prototype `proto` is ('' when it has none), read without running a getter. */
function classOf(proto: object): string {
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as { name?: unknown } | undefined;
  return typeof ctor === 'function' && typeof ctor.name === 'string' ? ctor.name : '';
}

/** `Counter`, `an object`, `an array`, `a function`, `a string`... for messages. */
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as object | null;
    const name = proto === null ? '' : classOf(proto);
    return name && name !== 'Object' ? name : 'an object';
  }
  return `a ${typeof v}`;
}
