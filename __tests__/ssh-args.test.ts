/**
 * The ssh command line an ssh:// address becomes: BatchMode, the port and user as options, the
 * caller's arguments before the destination, and the far side's command quoted for its shell so
 * a path with spaces or quotes stays one word (and `~/` still expands). Hosts and users that ssh
 * would read as options never get this far (transports-address.test.ts).
 */
import { parseAddress } from '../src/transport/address';
import { shellQuote, type SshTarget, sshArgs } from '../src/transport/ssh';

const target = (text: string) => parseAddress(text) as SshTarget;

test('options, then --, the host, and the remote command as one argument', () => {
  expect(sshArgs(target('ssh://app@db1:2222/run/app.sock'), { args: ['-i', '/k'] })).toEqual([
    '-T',
    '-o',
    'BatchMode=yes',
    '-p',
    '2222',
    '-l',
    'app',
    '-i',
    '/k',
    '--',
    'db1',
    'remoteobj dial-stdio /run/app.sock',
  ]);
  expect(sshArgs(target('ssh://db1/run/app.sock'))).toEqual(['-T', '-o', 'BatchMode=yes', '--', 'db1', 'remoteobj dial-stdio /run/app.sock']);
});

test('the far side’s command and path are quoted for a POSIX shell; ~/ stays unquoted', () => {
  const args = sshArgs(target("ssh://db1/srv/my%20app/it's.sock"), { command: ['node', '/opt/my app/main.js'] });
  expect(args.at(-1)).toBe(`node '/opt/my app/main.js' dial-stdio '/srv/my app/it'\\''s.sock'`);
  expect(sshArgs(target('ssh://db1/~/run/a%20b.sock')).at(-1)).toBe(`remoteobj dial-stdio ~/'run/a b.sock'`);
  for (const w of ['plain', 'a b', "it's", '$(rm -rf /)', '`x`', 'a;b', '']) {
    const quoted = shellQuote(w);
    expect(quoted === w || (quoted.startsWith("'") && quoted.endsWith("'"))).toBe(true);
  }
});
