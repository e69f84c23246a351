/**
 * Type-level assertions for the *.typetest.ts files (checked by `tsc --noEmit`, never run).
 *
 *   expectType<number>()(await remote.count);   // the value's type is exactly number
 *   assert<Equal<A, B>>();                      // A and B are the same type
 */

/** Exactly the same type (any, unknown, readonly and optional modifiers are not glossed over). */
export type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** Type-checks only when T is `true`. */
export function assert<T extends true>(): void {}

/**
 * `expectType<Expected>()(value)` type-checks only when the value's type is exactly Expected;
 * otherwise tsc reports a missing argument at the call.
 */
export function expectType<Expected>() {
  return <Actual>(_value: Actual, ..._mismatch: Equal<Actual, Expected> extends true ? [] : [never]): void => {};
}
