import { describe, expect, it } from 'vitest';
import { commandArgv, displayCommand, parseCommandLine } from '../../../src/scripts/command-line.js';

describe('parseCommandLine', () => {
  it('splits plain lines without a shell, honouring quotes', () => {
    expect(parseCommandLine('/usr/local/bin/check "a b" \'c\' d')).toEqual({ kind: 'exec', file: '/usr/local/bin/check', args: ['a b', 'c', 'd'] });
    expect(parseCommandLine('  killall -0 haproxy ')).toEqual({ kind: 'exec', file: 'killall', args: ['-0', 'haproxy'] });
    expect(parseCommandLine("/bin/echo '$HOME'")).toEqual({ kind: 'exec', file: '/bin/echo', args: ['$HOME'] });
  });

  it.each([
    'pidof haproxy | grep 1',
    'test -f /x && exit 0',
    'a; b',
    'echo x > /tmp/f',
    'echo $HOME',
    'echo ${HOME}',
    'ls /etc/*.conf',
    'echo `id`',
    'echo $(id)',
    'cat ~/x',
    'x # comment',
  ])('uses a shell for %s', (line) => {
    const parsed = parseCommandLine(line);
    expect(parsed.kind).toBe('shell');
    if (parsed.kind === 'shell') expect(parsed.line).toBe(line);
  });

  it('reports empty lines', () => {
    expect(parseCommandLine('   ')).toEqual({ kind: 'empty' });
  });

  it('builds argv with extra arguments, quoting them for the shell', () => {
    const exec = parseCommandLine('/n.sh a');
    const shell = parseCommandLine('/n.sh a | logger');
    if (exec.kind === 'empty' || shell.kind === 'empty') throw new Error('unexpected');
    expect(commandArgv(exec, ['INSTANCE', 'VI 1'])).toEqual(['/n.sh', ['a', 'INSTANCE', 'VI 1']]);
    expect(commandArgv(shell, ['INSTANCE', 'VI 1'])).toEqual(['/bin/sh', ['-c', "/n.sh a | logger INSTANCE 'VI 1'"]]);
    expect(displayCommand(exec, ['x y'])).toBe("/n.sh a 'x y'");
  });
});
