/**
 * The CLI's one kind of expected failure: bad input or bad usage. main.ts prints its message as one
 * line, `focal-loss: <message>`, and exits with its code (2), so scripts can tell it from a crash.
 */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Exit codes, as documented in docs/CLI.md. */
export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_USAGE = 2;

/** The message of a failed file-system call, without Node's "ENOENT: ..., open '/x'" noise. */
export function fileErrorMessage(name: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return `${name}: no such file`;
    case 'EISDIR':
      return `${name}: is a directory, not a file`;
    case 'EACCES':
    case 'EPERM':
      return `${name}: permission denied`;
    case 'ENOTDIR':
      return `${name}: a part of the path is not a directory`;
    default:
      return `${name}: ${error instanceof Error ? error.message : String(error)}`;
  }
}
