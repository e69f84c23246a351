/**
 * Command-line options. Options may come before or after the positional arguments; `--` ends
 * them. A token that looks like a negative number (`-1`, `-2.5`) is a positional argument, so
 * `remoteobj set SOCK offset -1` works.
 */
import { UsageError } from './exit-codes';

export interface OptionSpec {
  /** Long name without dashes. */
  name: string;
  short?: string;
  /** Takes a value (`--timeout 5`, `--timeout=5`). */
  value?: boolean;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: OptionSpec[] = [
  { name: 'help', short: 'h' },
  { name: 'verbose', short: 'v' },
  { name: 'timeout', short: 't', value: true },
  { name: 'raw', short: 'r' },
  { name: 'pretty' },
];

export interface ParsedArgs {
  positionals: string[];
  /** Flags as true, valued options as their (last) value. */
  options: Map<string, string | true>;
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg) || /^-\.\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (eq !== -1) inline = arg.slice(eq + 1);
      spec = byLong.get(name);
    } else {
      spec = byShort.get(arg.slice(1, 2));
      if (spec && arg.length > 2) {
        if (!spec.value) throw new UsageError(`unknown option ${arg} (flags cannot be combined; write them one by one)`, command);
        inline = arg.slice(2);
      }
    }
    if (!spec) throw new UsageError(`unknown option ${arg.split('=')[0]} for "${command}"`, command);
    if (spec.value) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`--${spec.name} needs a value`, command);
      options.set(spec.name, v);
    } else {
      if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`, command);
      options.set(spec.name, true);
    }
  }
  return { positionals, options };
}

/** A duration option in seconds (decimals allowed) as milliseconds; 0 means "no limit" (Infinity); undefined when absent. */
export function secondsOption(args: ParsedArgs, name: string, command: string): number | undefined {
  const v = args.options.get(name);
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+(\.\d+)?$|^\.\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number of seconds (e.g. 5 or 0.5), got ${JSON.stringify(v)}`, command);
  return n === 0 ? Infinity : Math.max(1, Math.round(n * 1000));
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.get(name) === true;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
}
