// Turning a configured script line (`script "/usr/local/bin/check_lvs --port 80"`) into an argv.
//
// As keepalived 2.2.7, never through a shell: the line is split into words by keepalived's own rules
// (lib/parser.c alloc_strvec_quoted_escaped: blanks separate words, '…' and "…" group them, a backslash
// escapes one character even inside quotes, \n \t \xHH \0oo \cX … are decoded) and the first word is
// exec'd with the others as its arguments (lib/notify.c system_call_script). `|`, `&&`, `;`, `<`, `$X`
// are then plain arguments, so the program that runs is always the word the security check judged.
// keepalived's one exception (check_script_secure): a first word `</path` (blanks allowed after the
// `<`) is a test that the file opens, run with system(); see OpenTest.

export type ParsedCommand =
  | { kind: 'exec'; file: string; args: string[] }
  | OpenTest
  | { kind: 'empty' }
  | { kind: 'invalid'; message: string };

/** `</dev/tcp/127.0.0.1/80`: succeeds when /bin/sh can open the file for reading. */
export interface OpenTest {
  kind: 'open-test';
  path: string;
  /** Words after the test: keepalived hands them to /bin/sh too, unchecked; we refuse such lines. */
  rest: string[];
}

/** What is spawned: a program and its arguments, no shell. */
export interface ExecCommand {
  kind: 'exec';
  file: string;
  args: string[];
}

export const SHELL_PATH = '/bin/sh';

/** The open test as an exec: the path is a positional parameter, so sh never parses it. Appended
 * arguments (notify's TYPE NAME STATE PRIORITY) become $2… and are ignored. */
export function openTestCommand(path: string): ExecCommand {
  return { kind: 'exec', file: SHELL_PATH, args: ['-c', '<"$1"', 'sh', path] };
}

const BLANKS = ' \t\f\n\r\v';
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);
const isOctal = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '7';

/** keepalived's alloc_strvec_quoted_escaped(): the words of a script line, or why it has none. */
export function splitScriptLine(line: string): { words: string[] } | { error: string } {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && BLANKS.includes(line[i] as string)) i++;
    if (i >= n) break;
    let word = '';
    let quote: string | undefined;
    while (i < n) {
      const c = line[i] as string;
      if (c === '\\') {
        i++;
        if (i >= n) return { error: 'missing escaped character at the end' };
        const e = line[i] as string;
        if (e === 'x' && isHex(line[i + 1])) {
          let code = 0;
          for (i++; isHex(line[i]); i++) code = ((code << 4) | Number.parseInt(line[i] as string, 16)) & 0xff; // a C char keeps 8 bits
          word += String.fromCharCode(code);
        } else if (e === 'c' && i + 1 < n) {
          word += String.fromCharCode((line[i + 1] as string).charCodeAt(0) & 0x1f);
          i += 2;
        } else if (isOctal(e)) {
          let code = 0;
          for (let digits = 0; digits < 3 && isOctal(line[i]); digits++, i++) code = ((code << 3) + Number(line[i])) & 0xff;
          word += String.fromCharCode(code);
        } else {
          word += SIMPLE_ESCAPES[e] ?? e;
          i++;
        }
      } else if (quote !== undefined) {
        if (c === quote) quote = undefined;
        else word += c;
        i++;
      } else if (c === '"' || c === "'") {
        quote = c;
        i++;
      } else if (BLANKS.includes(c)) {
        break;
      } else {
        word += c;
        i++;
      }
    }
    if (quote !== undefined) return { error: `missing terminating ${quote}` };
    // keepalived copies words with strndup: an escaped NUL ends the word.
    const nul = word.indexOf('\0');
    words.push(nul >= 0 ? word.slice(0, nul) : word);
  }
  return { words };
}

export function parseCommandLine(line: string): ParsedCommand {
  const split = splitScriptLine(line);
  if ('error' in split) return { kind: 'invalid', message: split.error };
  const [file, ...args] = split.words;
  if (file === undefined) return { kind: 'empty' };
  const openTest = /^<[ \t]*(\/.*)$/s.exec(file);
  if (openTest) return { kind: 'open-test', path: openTest[1] as string, rest: args };
  return { kind: 'exec', file, args };
}

/** The argv to spawn, with extra arguments appended. */
export function commandArgv(command: ExecCommand, extraArgs: readonly string[] = []): [string, string[]] {
  return [command.file, [...command.args, ...extraArgs]];
}

const PLAIN_WORD = /^[\w@%+=:,./-]+$/;

/** One word as an operator could type it (single quotes when needed), for log lines. */
function displayWord(word: string): string {
  return PLAIN_WORD.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command as an operator would write it, for log lines. */
export function displayCommand(command: ExecCommand, extraArgs: readonly string[] = []): string {
  return [command.file, ...command.args, ...extraArgs].map(displayWord).join(' ');
}
