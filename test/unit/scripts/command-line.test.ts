import { describe, expect, it } from 'vitest';
import { commandArgv, displayCommand, openTestCommand, parseCommandLine, splitScriptLine } from '../../../src/scripts/command-line.js';

describe('splitScriptLine (keepalived alloc_strvec_quoted_escaped)', () => {
  it('splits on blanks; quotes group words and join adjacent text', () => {
    expect(splitScriptLine('  /usr/local/bin/check "a b" \'c\' d\t e ')).toEqual({ words: ['/usr/local/bin/check', 'a b', 'c', 'd', 'e'] });
    expect(splitScriptLine(`a"b c"d 'x'"y" "" ''`)).toEqual({ words: ['ab cd', 'xy', '', ''] });
    expect(splitScriptLine(`"it's" 'say "hi"'`)).toEqual({ words: ["it's", 'say "hi"'] });
  });

  it('decodes backslash escapes, also inside single quotes (unlike sh)', () => {
    expect(splitScriptLine(String.raw`a\ b "q\"q" 'n\'n' \$HOME`)).toEqual({ words: ['a b', 'q"q', "n'n", '$HOME'] });
    expect(splitScriptLine(String.raw`\t\n\x41\x4a \101\0101 \cA \q \x`)).toEqual({ words: ['\t\nAJ', 'A\x081', '\x01', 'q', 'x'] });
    expect(splitScriptLine(String.raw`ab\0cd next`)).toEqual({ words: ['ab', 'next'] }); // NUL ends the word (strndup)
  });

  it('refuses unterminated quotes and a trailing backslash', () => {
    expect(splitScriptLine('/x "a b')).toEqual({ error: 'missing terminating "' });
    expect(splitScriptLine("/x 'a")).toEqual({ error: "missing terminating '" });
    expect(splitScriptLine('/x a\\')).toEqual({ error: 'missing escaped character at the end' });
  });
});

describe('parseCommandLine', () => {
  it('execs the first word with the others as arguments', () => {
    expect(parseCommandLine('/usr/local/bin/check "a b" \'c\' d')).toEqual({ kind: 'exec', file: '/usr/local/bin/check', args: ['a b', 'c', 'd'] });
    expect(parseCommandLine('  killall -0 haproxy ')).toEqual({ kind: 'exec', file: 'killall', args: ['-0', 'haproxy'] });
    expect(parseCommandLine("/bin/echo '$HOME'")).toEqual({ kind: 'exec', file: '/bin/echo', args: ['$HOME'] });
  });

  // keepalived has no shell: what sh would treat as syntax is just words of the command.
  it.each([
    ['pidof haproxy | grep 1', 'pidof', ['haproxy', '|', 'grep', '1']],
    ['test -f /x && exit 0', 'test', ['-f', '/x', '&&', 'exit', '0']],
    ['a; b', 'a;', ['b']],
    ['echo x > /tmp/f', 'echo', ['x', '>', '/tmp/f']],
    ['echo $HOME ${HOME} $(id) `id` ~/x /etc/*.conf', 'echo', ['$HOME', '${HOME}', '$(id)', '`id`', '~/x', '/etc/*.conf']],
    ['x # comment', 'x', ['#', 'comment']],
    ['(/tmp/x.sh)', '(/tmp/x.sh)', []],
    ['< /dev/null /tmp/x.sh', '<', ['/dev/null', '/tmp/x.sh']],
    ['/bin/true && /tmp/x.sh', '/bin/true', ['&&', '/tmp/x.sh']],
  ])('%s runs %s without a shell', (line, file, args) => {
    expect(parseCommandLine(line)).toEqual({ kind: 'exec', file, args });
  });

  it('recognises keepalived\'s "</file" open test, blanks allowed after the <', () => {
    expect(parseCommandLine('</dev/tcp/127.0.0.1/80')).toEqual({ kind: 'open-test', path: '/dev/tcp/127.0.0.1/80', rest: [] });
    expect(parseCommandLine('"< /etc/hosts"')).toEqual({ kind: 'open-test', path: '/etc/hosts', rest: [] });
    expect(parseCommandLine('</dev/null /tmp/x.sh')).toEqual({ kind: 'open-test', path: '/dev/null', rest: ['/tmp/x.sh'] });
    expect(parseCommandLine('<x')).toEqual({ kind: 'exec', file: '<x', args: [] });
  });

  it('reports empty and unparsable lines', () => {
    expect(parseCommandLine('   ')).toEqual({ kind: 'empty' });
    expect(parseCommandLine('/x "a')).toEqual({ kind: 'invalid', message: 'missing terminating "' });
  });

  it('builds argv with extra arguments appended to the program, and displays it', () => {
    const exec = { kind: 'exec' as const, file: '/n.sh', args: ['a', '|', 'logger'] };
    expect(commandArgv(exec, ['INSTANCE', 'VI 1'])).toEqual(['/n.sh', ['a', '|', 'logger', 'INSTANCE', 'VI 1']]);
    expect(displayCommand(exec, ['x y', "it's"])).toBe(`/n.sh a '|' logger 'x y' 'it'\\''s'`);
  });

  it('runs the open test with the path as a positional parameter, never parsed by sh', () => {
    expect(commandArgv(openTestCommand('/x $(id)'), ['INSTANCE'])).toEqual(['/bin/sh', ['-c', '<"$1"', 'sh', '/x $(id)', 'INSTANCE']]);
  });
});
