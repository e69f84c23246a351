/**
 * The default `$passto` functions that turn a value into text, without disclosing what the
 * access rules keep back: `JSON.stringify` would copy a Host's secret or a socket's internals
 * found anywhere inside the value.
 */
import { AccessError } from './errors';
import { refusalOf } from './owned';

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
