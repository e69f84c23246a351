/**
 * The parent's check of what a child sends: a fork child runs arbitrary code, and any message
 * marked `ro: 1` on its IPC channel is read as protocol, so each one is checked for its shape
 * before it is used. (What it may send when, e.g. yields within the credit, is Forked's business.)
 */
import type { z as Z } from 'zod';

/**
 * The schema, made when the first child message comes: building it took ~9 ms of loading the
 * library, which every process that loads it paid (the CLI, a host), forking or not.
 */
function fromChildSchema() {
  // zod itself too: a process that never forks does not load it for this (wire.ts says why it matters).
  const { z } = require('zod') as { z: typeof Z };
  const Marked = { ro: z.literal(1) };
  return z.discriminatedUnion('t', [
    z.strictObject({ ...Marked, t: z.literal('loaded'), exportName: z.string().nullable() }),
    z.strictObject({ ...Marked, t: z.literal('notExported'), ambiguous: z.array(z.string()) }),
    z.strictObject({ ...Marked, t: z.literal('stream') }),
    z.strictObject({ ...Marked, t: z.literal('yield'), index: z.number().int().nonnegative().safe(), value: z.unknown() }),
    z.strictObject({ ...Marked, t: z.literal('return'), value: z.unknown() }),
    z.strictObject({ ...Marked, t: z.literal('throw'), error: z.record(z.string(), z.unknown()) }),
  ]);
}
let FromChild: ReturnType<typeof fromChildSchema> | undefined;

/** A message from the child, checked: values are still encoded (decode them with values.ts). */
export type FromChild = Z.infer<ReturnType<typeof fromChildSchema>>;

const KINDS = new Set(['loaded', 'notExported', 'stream', 'yield', 'return', 'throw']);

/** The message, typed; or a sentence saying what is wrong with it. */
export function checkFromChild(m: { t: string }): FromChild | string {
  if (!KINDS.has(m.t)) return `unknown message ${JSON.stringify(m.t.slice(0, 40))}`;
  const parsed = (FromChild ??= fromChildSchema()).safeParse(m);
  return parsed.success ? parsed.data : `malformed ${m.t} message`;
}
