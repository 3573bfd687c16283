// Turning a configured script line (`script "/usr/local/bin/check_lvs --port 80"`) into something to run.
//
// keepalived splits the line itself and execve()s the program, falling back to system() only for files it
// cannot exec. We do the same, with shell-quote doing the splitting: a plain line runs WITHOUT a shell, so
// quoting bugs and `$` in arguments cannot turn into shell injection and there is no extra /bin/sh process
// per run. A line that needs a shell to mean what it says (pipes, redirections, `;`, `&&`, globs, `$VAR`,
// `$(...)`, backquotes, `~`, comments) runs as `/bin/sh -c LINE`, which is what an operator who wrote it
// expects.

import { parse, quote } from 'shell-quote';

export type ParsedCommand =
  | { kind: 'exec'; file: string; args: string[] }
  /** firstWord: the program as far as it can be read without a shell (for path and security checks). */
  | { kind: 'shell'; line: string; firstWord?: string | undefined }
  | { kind: 'empty' };

export const SHELL_PATH = '/bin/sh';

/** Characters that mean nothing to shell-quote's tokenizer but something to sh. */
const SHELL_ONLY_SYNTAX = /`|\$\(|(^|\s)~/;

export function parseCommandLine(line: string): ParsedCommand {
  const trimmed = line.trim();
  if (trimmed === '') return { kind: 'empty' };

  let sawVariable = false;
  const tokens = parse(trimmed, (name: string) => {
    sawVariable = true;
    return `$${name}`;
  });
  const words: string[] = [];
  let needsShell = sawVariable || SHELL_ONLY_SYNTAX.test(trimmed);
  for (const token of tokens) {
    if (typeof token === 'string') words.push(token);
    else needsShell = true; // operator, glob or comment
  }
  if (needsShell) {
    const first = tokens[0];
    return { kind: 'shell', line: trimmed, firstWord: typeof first === 'string' ? first : undefined };
  }
  const [file, ...args] = words;
  if (file === undefined) return { kind: 'empty' };
  return { kind: 'exec', file, args };
}

/** The argv to spawn, with extra arguments appended (quoted for the shell when there is one). */
export function commandArgv(command: Exclude<ParsedCommand, { kind: 'empty' }>, extraArgs: readonly string[] = []): [string, string[]] {
  if (command.kind === 'exec') return [command.file, [...command.args, ...extraArgs]];
  const line = extraArgs.length > 0 ? `${command.line} ${quote([...extraArgs])}` : command.line;
  return [SHELL_PATH, ['-c', line]];
}

/** The command as an operator would write it, for log lines. */
export function displayCommand(command: Exclude<ParsedCommand, { kind: 'empty' }>, extraArgs: readonly string[] = []): string {
  if (command.kind === 'shell') return extraArgs.length > 0 ? `${command.line} ${quote([...extraArgs])}` : command.line;
  return quote([command.file, ...command.args, ...extraArgs]);
}
