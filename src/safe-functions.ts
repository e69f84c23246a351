/**
 * The default `$passto` functions that turn a value into text, without disclosing what the
 * access rules keep back: `String` of a function gives its source code (and `String` of an array
 * gives each element's), while the rules refuse `toString` on functions; `JSON.stringify` would
 * copy a Host's secret or a socket's internals found anywhere inside the value.
 */
import { AccessError } from './errors';
import { refusalOf } from './owned';

/** `String(v)`, except that a function (also inside an array, at any depth) shows as `[Function: name]`, never as its source. */
export function stringOf(v: unknown): string {
  if (typeof v === 'function') return describeFunction(v);
  if (Array.isArray(v)) return joinArray(v, new Set());
  return String(v);
}

/** What util.inspect shows for a function: `[Function: add]`, `[class Counter]`, `[Function (anonymous)]`. */
function describeFunction(fn: Function): string {
  const name = typeof fn.name === 'string' && fn.name !== '' ? fn.name : '';
  // Looked at here, never sent: only whether the source starts with `class`.
  if (/^class\b/.test(Function.prototype.toString.call(fn))) return name ? `[class ${name}]` : '[class (anonymous)]';
  return name ? `[Function: ${name}]` : '[Function (anonymous)]';
}

/** Array.prototype.join(',') as String() does it (holes, null and undefined are empty; a cycle is empty), with stringOf for each element. */
function joinArray(a: unknown[], seen: Set<unknown[]>): string {
  if (seen.has(a)) return '';
  seen.add(a);
  let out = '';
  for (let i = 0; i < a.length; i++) {
    if (i > 0) out += ',';
    const e = a[i];
    if (e === null || e === undefined) continue;
    out += typeof e === 'function' ? describeFunction(e) : Array.isArray(e) ? joinArray(e, seen) : String(e);
  }
  seen.delete(a);
  return out;
}

/**
 * `JSON.stringify(v, null, space)`, refusing (AccessError) the library's own objects and Node's
 * I/O handles wherever they are in `v`: JSON.stringify of an object holding its Host would copy
 * the Host's fields, its secret included.
 */
export function jsonOf(v: unknown, space?: number): string | undefined {
  return JSON.stringify(v, refuseHidden, space);
}

function refuseHidden(this: unknown, key: string, value: unknown): unknown {
  if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
    const refusal = refusalOf(value);
    if (refusal !== undefined) {
      throw new AccessError(refusal.rule, `JSON.stringify met ${key === '' ? 'the value' : `"${key}"`}, ${refusal.rule === 'library-owned' ? "one of remoteobj's own objects" : 'a Node I/O handle'} (${refusal.what}); it is not sent`);
    }
  }
  return value;
}
