/**
 * The ssh:// transport (client side): run the system's `ssh` with `remoteobj dial-stdio PATH` on
 * the far machine and speak the protocol over the child's stdin and stdout. OpenSSH does the keys,
 * known_hosts and encryption; no port is opened on the far machine, and the remote socket's 0600
 * mode stays the check (dial-stdio runs as the ssh user). BatchMode=yes: ssh never prompts, so a
 * missing key or an unknown host key fails at once instead of hanging.
 *
 * How it ends, as typed errors: ssh failing (host key mismatch, authentication, no remoteobj
 * there) is SshError with ssh's stderr; dial-stdio finding no host (its exit code 3) is
 * NotListeningError; a drop once connected closes the link (ConnectionClosedError above).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { NotListeningError, SshError } from '../errors';
import type { Link } from './link';
import { StreamLink } from './stream-link';

export interface SshOptions {
  /**
   * More arguments for ssh, placed before the destination: an identity, a known_hosts file,
   * any `-o` option (`['-i', key, '-o', 'UserKnownHostsFile=/path/known_hosts']`).
   */
  args?: string[];
  /** The ssh program (default `ssh`, from PATH). */
  binary?: string;
  /**
   * The words that start remoteobj on the far machine; `dial-stdio PATH` is added after them.
   * Default `['remoteobj']` (installed globally there); e.g. `['npx', 'remoteobj']` or
   * `['node', '/opt/app/node_modules/remoteobj/dist/cli/main.js']`.
   */
  command?: string[];
}

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
  /** The socket on the far machine (`~/x.sock`: under the remote home). */
  path: string;
}

/** dial-stdio's exit code when no host listens at the path (the CLI's EXIT.UNAVAILABLE). */
const EXIT_NOT_LISTENING = 3;
/** Most bytes of ssh's stderr kept for an error message. */
const STDERR_KEEP = 8192;

/** The ssh command line for `target` (exported for tests and docs). */
export function sshArgs(target: SshTarget, options: SshOptions = {}): string[] {
  const command = [...(options.command ?? ['remoteobj']).map(shellQuote), 'dial-stdio', remotePath(target.path)].join(' ');
  return [
    '-T',
    '-o',
    'BatchMode=yes',
    ...(target.port !== undefined ? ['-p', String(target.port)] : []),
    ...(target.user !== undefined ? ['-l', target.user] : []),
    ...(options.args ?? []),
    '--',
    target.host,
    command,
  ];
}

/**
 * Start ssh and resolve with a Link over its stdio once the far side has sent its first byte (a
 * host's hello comes first): until then, ssh failing or dial-stdio finding nothing rejects with
 * SshError or NotListeningError. `signal` aborting kills ssh.
 */
export function dialSsh(target: SshTarget, options: SshOptions, address: string, signal: AbortSignal, maxLineBytes: number): Promise<Link> {
  return new Promise<Link>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    let child: ChildProcess;
    try {
      child = spawn(options.binary ?? 'ssh', sshArgs(target, options), { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      return reject(e);
    }
    const stream = new SshStream(child, address);
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      stream.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.firstByte.then(
      () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(new StreamLink(stream, address, maxLineBytes));
      },
      (e: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        stream.destroy();
        reject(e);
      },
    );
  });
}

/**
 * The ssh child's stdout and stdin as one duplex. It closes once the child has exited (not when
 * stdout ends), so the reason is known by then: a failing ssh destroys it with a typed error.
 */
class SshStream extends Duplex {
  readonly #child: ChildProcess;
  readonly #address: string;
  #stderr = '';
  #gotData = false;
  #exited = false;
  readonly firstByte: Promise<void>;
  #first!: { resolve: () => void; reject: (e: Error) => void };

  constructor(child: ChildProcess, address: string) {
    super({ allowHalfOpen: true, autoDestroy: false });
    this.#child = child;
    this.#address = address;
    this.firstByte = new Promise((resolve, reject) => (this.#first = { resolve, reject }));
    this.firstByte.catch(() => undefined);
    // Until a link owns it, its failure is reported through firstByte.
    this.on('error', () => undefined);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (this.#stderr.length < STDERR_KEEP) this.#stderr += text.slice(0, STDERR_KEEP - this.#stderr.length);
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!this.#gotData) {
        this.#gotData = true;
        this.#first.resolve();
      }
      if (!this.push(chunk)) child.stdout!.pause();
    });
    child.stdout!.on('end', () => this.push(null));
    // EPIPE when ssh is gone: its exit says why.
    child.stdin!.on('error', () => undefined);
    child.on('error', (e) => this.#fail(new SshError(`could not run ssh for ${address}: ${e.message}`, '', null, { cause: e })));
    // 'close': exited and its stdio is drained, so stderr is complete.
    child.on('close', (code, signal) => {
      this.#exited = true;
      const failure = this.#reason(code, signal);
      if (failure) this.#fail(failure);
      else {
        this.#first.reject(new NotListeningError(`the far side of ${address} closed before a host said hello`));
        this.destroy();
      }
    });
  }

  #reason(code: number | null, signal: NodeJS.Signals | null): Error | undefined {
    if (code === 0 || this.destroyed) return undefined;
    const said = this.#stderr.replace(/\r/g, '').trim();
    const tail = said ? `; it said:\n${said.replace(/^/gm, '  ')}` : '';
    if (code === EXIT_NOT_LISTENING) return new NotListeningError(`no host is listening on ${this.#address}${tail}`);
    if (signal !== null && this.#gotData) return undefined; // killed after connecting: a drop
    return new SshError(`ssh to ${this.#address} failed (${signal ? `signal ${signal}` : `exit code ${code}`})${tail}`, said, code);
  }

  #fail(e: Error): void {
    this.#first.reject(e);
    this.destroy(e);
  }

  override _read(): void {
    this.#child.stdout!.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    const stdin = this.#child.stdin!;
    if (stdin.destroyed) return done();
    stdin.write(chunk, () => done());
  }

  override _final(done: (e?: Error | null) => void): void {
    this.#child.stdin!.end();
    done();
  }

  override _destroy(err: Error | null, done: (e: Error | null) => void): void {
    if (!this.#exited) this.#child.kill();
    done(err);
  }
}

/** A word for a POSIX shell (the far side's login shell runs the command ssh sends). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The remote path as shell text: `~/rest` keeps its `~` unquoted so the far shell expands it. */
function remotePath(p: string): string {
  return p.startsWith('~/') ? `~/${shellQuote(p.slice(2))}` : shellQuote(p);
}
