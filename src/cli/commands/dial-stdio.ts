/**
 * dial-stdio: bridge stdin and stdout to a local host's socket, byte for byte (like `docker
 * system dial-stdio`). It is what an ssh:// client runs on the far machine, so that ssh carries
 * the protocol and the socket's 0600 mode stays the check. The client's half-close passes through;
 * when the host has sent its last byte the bridge ends, and it exits once the socket has closed. Exit 3 (and a line on stderr) when no host listens there.
 */
import fs from 'node:fs';
import net from 'node:net';
import { NotListeningError } from '../../errors';
import { parseAddress } from '../../transport/address';
import { checkPath } from '../client';
import type { Command } from '../context';
import { EXIT, UsageError } from '../exit-codes';

/** Errors of connect() that mean "nobody is listening there". */
const NOT_THERE = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTSOCK', 'ENOTDIR', 'ECONNRESET', 'EPIPE']);

export const dialStdio: Command = {
  arity: [1, 1],
  async run(ctx) {
    const given = ctx.args.positionals[0]!;
    checkPath(given, 'dial-stdio');
    const address = parseAddress(given);
    if (address.kind !== 'unix' && address.kind !== 'pipe') {
      throw new UsageError(`dial-stdio bridges to a socket on this machine: give its path, not ${JSON.stringify(given)}`, 'dial-stdio');
    }
    const socket = await open(address.path);
    return bridge(socket);
  },
};

function open(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (e: NodeJS.ErrnoException) =>
      reject(NOT_THERE.has(e.code ?? '') ? new NotListeningError(`no host is listening on ${path} (${e.code})`, { cause: e }) : e),
    );
  });
}

function bridge(socket: net.Socket): Promise<number> {
  const { stdin, stdout } = process;
  return new Promise<number>((resolve) => {
    socket.on('error', () => undefined); // a reset: 'close' follows
    // Far side -> host; its end of input half-closes the socket (the host still answers what arrived).
    stdin.pipe(socket);
    // Host -> far side, with back-pressure both ways.
    socket.on('data', (chunk: Buffer) => {
      if (!stdout.write(chunk)) socket.pause();
    });
    stdout.on('drain', () => socket.resume());
    stdout.on('error', () => socket.destroy()); // the far side is gone
    // The host will send nothing more (it is closing, or it died): pass that on, and finish our
    // side too once stdout has taken what came before. Without it, over a pipe that cannot be
    // half-closed (sshd's), the far client would wait for replies forever.
    socket.on('end', () => halfCloseStdout(() => socket.end()));
    socket.once('close', () => {
      stdin.unpipe(socket);
      stdin.pause();
      resolve(EXIT.OK);
    });
  });
}

/**
 * Tell the far side that the host will send nothing more, then call `then`. Over a socket (ssh's channel and
 * Node's child stdio are socketpairs) that is shutdown(SHUT_WR); a pipe cannot be half-closed
 * without closing it, which the exit that follows the socket's close does.
 */
function halfCloseStdout(then: () => void): void {
  let isSocket = false;
  try {
    isSocket = fs.fstatSync(1).isSocket();
  } catch {
    /* no stdout */
  }
  if (isSocket) process.stdout.end(then);
  else process.stdout.write('', then);
}
