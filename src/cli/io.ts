/** Where a command writes: the process's streams, or (for the demo and tests) any writer. */
export interface Out {
  write(text: string): unknown;
  /** Whether a person is looking (colors, tables). */
  isTTY?: boolean;
}

export interface Io {
  stdout: Out;
  stderr: Out;
}

export const processIo: Io = { stdout: process.stdout, stderr: process.stderr };

/** Colors only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColors(out: Out): boolean {
  return out.isTTY === true && !process.env.NO_COLOR;
}
