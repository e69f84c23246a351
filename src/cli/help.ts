/** `--help` texts: every command has a usage line, what it does, its options and an example. */
import fs from 'node:fs';
import path from 'node:path';

export function version(): string {
  // dist/cli/ and src/cli/ both sit two levels under the package root.
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const COMMON = `Common options:
  -t, --timeout SECONDS  give up after this long (decimals allowed; 0 = no limit), exit 4
  -r, --raw              print strings as they are, not as JSON
      --pretty           print for people (not JSON)
  -v, --verbose          show the ops sent, the reply, and the remote stack of an error
  -h, --help             this help`;

const ALLOW_MISSING = `Options:
      --allow-missing    a member that does not exist reads as undefined (default: an
                         error, MissingMemberError, that names close matches; exit 5)`;

const EXIT_CODES = `Exit codes: 0 ok · 1 the remote operation threw · 2 usage or syntax error ·
            3 no host listening / connection failed · 4 timeout ·
            5 no such member (a typo: the message names close matches; --allow-missing reads it as undefined)`;

const GRAMMAR = `Expressions: names, [index], ["key"] and calls with JSON arguments, never run as
JavaScript: cache.stats.hits   items[0].name   sessions["abc"]   setLevel("debug", {"sticky": true})
A leading "." is allowed (.cache.stats). Arguments use the same JSON forms as the output:
{"$bigint":"12"}, {"$date":"2024-01-01T00:00:00.000Z"}, {"$undefined":true}, ... (docs/cli.md).`;

export const COMMAND_HELP: Record<string, string> = {
  get: `Usage: remoteobj get SOCKET EXPR [options]

Read the value at the end of EXPR and print it as JSON (pipe it to jq).
Values JSON cannot hold print in tagged form: {"$bigint":"12"}, {"$date":"…"},
{"$map":[[k,v],…]}, {"$set":[…]}, {"$undefined":true}; the hosted object itself is {"$self":true}.

${GRAMMAR}

Examples:
  remoteobj get /run/app.sock 'cache.stats.hits'
  remoteobj get /run/app.sock 'users[0].name' --raw
  remoteobj get /run/app.sock 'queue.items' | jq length

${ALLOW_MISSING}

${COMMON}

${EXIT_CODES}
`,
  call: `Usage: remoteobj call SOCKET EXPR [options]

Run a chain with at least one call and print what it returns as JSON (nothing when it
returns undefined). Arguments are JSON literals.

${GRAMMAR}

Examples:
  remoteobj call /run/app.sock 'queue.pause()'
  remoteobj call /run/app.sock 'setLevel("debug", {"sticky": true})'
  remoteobj call /run/app.sock 'cache.get("user:1").toJSON()' --pretty

${ALLOW_MISSING}

${COMMON}

${EXIT_CODES}
`,
  set: `Usage: remoteobj set SOCKET EXPR VALUE [options]

Assign VALUE (JSON) to the property EXPR names. With --raw, VALUE is a plain string.
Prints nothing on success.

Examples:
  remoteobj set /run/app.sock 'config.level' '"debug"'
  remoteobj set /run/app.sock 'config.level' debug --raw
  remoteobj set /run/app.sock 'limits["upload"]' '{"maxBytes": 1048576}'
  remoteobj set /run/app.sock 'offset' -1

${ALLOW_MISSING}

${COMMON}

${EXIT_CODES}
`,
  del: `Usage: remoteobj del SOCKET EXPR [options]

Delete the property EXPR names (like \`delete obj.a.b\`). Prints nothing on success.

Examples:
  remoteobj del /run/app.sock 'sessions["abc"]'
  remoteobj del /run/app.sock 'cache.entries.stale'

${ALLOW_MISSING}

${COMMON}

${EXIT_CODES}
`,
  ls: `Usage: remoteobj ls SOCKET [EXPR] [options]

List the members of the hosted object (or of EXPR's value) that the host's access rules let
through: name, kind (method, property, getter), type, own or inherited, writable. Getters are
not run. JSON by default ({type, className, length, members: [...]}); --pretty prints a table,
--raw one name per line.

Examples:
  remoteobj ls /run/app.sock --pretty
  remoteobj ls /run/app.sock cache --raw
  remoteobj ls /run/app.sock | jq -r '.members[] | select(.kind == "method") | .name'

${ALLOW_MISSING}

${COMMON}

${EXIT_CODES}
`,
  wait: `Usage: remoteobj wait SOCKET [--timeout SECONDS] [options]

Wait until a host answers on SOCKET (a real hello, not just a socket file), then exit 0.
Exit 4 when --timeout passes first (default 30 s; 0 waits forever), exit 3 at once for an
error waiting cannot fix (permission denied, something that is not a remoteobj host).

Examples:
  remoteobj wait /run/app.sock --timeout 10 && remoteobj get /run/app.sock status
  node server.js & remoteobj wait /tmp/app.sock -t 5 || { echo 'no host'; exit 1; }

${COMMON}

${EXIT_CODES}
`,
  watch: `Usage: remoteobj watch SOCKET EXPR [options]

Run EXPR once; it must give an async iterable (an async generator, an object-mode Readable...).
Print each of its items as one JSON line (NDJSON; --raw prints strings as they are) until the
stream ends, or until interrupted (Ctrl-C, SIGTERM, or stdout closed, e.g. | head -n 3): then the
host's iterator is stopped (its finally blocks run) and watch exits 0. Items are read under a
credit window, so a slow pipe holds the host back instead of filling its memory. --timeout bounds
connecting and getting the stream, not the wait between items.

${GRAMMAR}

Examples:
  remoteobj watch /run/app.sock 'logs.follow("error")'
  remoteobj watch /run/app.sock 'events()' | jq -c 'select(.level == "warn")'

${ALLOW_MISSING}

${COMMON}

${EXIT_CODES}
`,
  repl: `Usage: remoteobj repl SOCKET [options]

A Node.js REPL with \`remote\` bound to the hosted object: top-level await, and Tab completes
member names from the host (remote.ca<Tab>). A remote expression is awaited for you:
\`remote.count\` prints the value. Calls are not run by completion. .ls [EXPR] lists members.

Examples:
  remoteobj repl /run/app.sock
  > remote.cache.stats.hits
  > await remote.queue.pause()
  > .ls cache

${COMMON}

${EXIT_CODES}
`,
  serve: `Usage: remoteobj serve MODULE [EXPORT] [--path SOCKET] [options]

Host an object exported by MODULE: .js (CommonJS or ES module, as its package.json says), .cjs,
.mjs; TypeScript (.ts, .cts, .mts) through tsx or ts-node — the one remoteobj runs under
(node --import tsx $(command -v remoteobj) serve app.ts), else one installed near the module.
EXPORT names the export (default: the default export, or the only one). A class is instantiated; a
function is called as a factory (it may be async) with one argument
{ path, signal, close() } and its result is hosted. Prints the socket path on stdout once
listening. SIGINT/SIGTERM close the host: requests that have arrived still run (unless
--no-fulfill-final; a request still running after --grace is cut off), then the socket file
is removed and the process exits 0. A second signal exits at once.

Options:
      --path SOCKET       where to listen (default: socketPath(MODULE name), e.g.
                          $XDG_RUNTIME_DIR/remoteobj/counter.sock)
      --readonly          refuse every set and del
      --expose a,b,c      only these top-level names are reachable
      --no-fulfill-final  on close, reject queued requests (ShutdownError) instead of running them
      --grace SECONDS     on close, how long to wait for requests in flight and for clients to
                          hang up before cutting them off (default: the host's, 5 s; 0 = no limit)
  -v, --verbose           log start-up and shutdown on stderr
  -h, --help              this help

Examples:
  remoteobj serve ./counter.js --path /tmp/c.sock
  remoteobj serve ./app.mjs createApp --path /tmp/app.sock --readonly
  sock=$(remoteobj serve ./counter.js --path /tmp/c.sock | head -n1)

Exit codes: 0 closed by a signal or by the module · 1 the module or the host failed ·
            2 usage error (no such module or export)
`,
  batch: `Usage: remoteobj batch SOCKET [options] < requests.ndjson

Read requests from stdin, one JSON document per line, and write one JSON result per line on
stdout, in the same order, for bulk work in shell pipelines. The requests go over one
connection, pipelined (each is sent without waiting for the replies before it).

A request line is a JSON string, an expression read like \`get\` ("cache.stats.hits"), or an
object with one command and an optional "id" (any JSON, echoed on its result):
  {"get": "cache.stats"}            {"call": "queue.pause()"}
  {"set": "config.level", "value": "debug"}   (value: JSON in the tagged forms, as for set)
  {"del": "sessions[\\"abc\\"]"}        {"ls": "cache"}        {"id": 7, "get": "items[0]"}
Blank lines are skipped.

A result line is {"ok":true,"value":…} (no value for set and del; values in the tagged forms,
as get prints them) or {"ok":false,"error":{"name":…,"message":…,"exit":N,…}}, where exit is
the code this request would have had as a command of its own; "code", "rule", "op" and
"column" (of a syntax error) when known. A malformed line gets an error result (exit 2) in its
place and the lines after it still run. If the connection is lost, the requests in flight get
error results and reading stops.

Examples:
  jq -c '.users[] | {id: .id, get: "sessions[\\(.id | tojson)].lastSeen"}' users.json \\
    | remoteobj batch /run/app.sock | jq -c 'select(.ok | not)'
  printf '%s\\n' '"cache.stats"' '{"call": "cache.clear()"}' | remoteobj batch /run/app.sock

Options:
  -t, --timeout SECONDS  limit for each request (and for connecting); a request that passes it
                         gets an error result with exit 4
  -v, --verbose          add each error's stack; a summary on stderr
  -h, --help             this help

Exit codes: 0 every request succeeded · otherwise the highest exit of the failed requests
            (1 a remote error · 2 a malformed line · 3 connection lost · 4 timeout) ·
            2 usage error · 3 no host listening (nothing is read, nothing is written)
`,
  'dial-stdio': `Usage: remoteobj dial-stdio SOCKET

Bridge stdin and stdout to the host's socket on this machine, byte for byte (like
\`docker system dial-stdio\`). A client's ssh://USER@HOST/SOCKET address runs this on HOST
through ssh, so the protocol travels inside ssh and the socket's 0600 mode stays the check.
Half-closes pass through; it exits once the socket closes.

Example:
  ssh app@db1 remoteobj dial-stdio /run/app.sock     (what connect('ssh://app@db1/run/app.sock') runs)

Options:
  -h, --help             this help

Exit codes: 0 the host closed the connection · 3 no host listening at SOCKET · 2 usage error
`,
  demo: `Usage: remoteobj demo [--pause SECONDS]

The counter example of the original remoteobj, end to end and narrated: starts a host in a
separate process (\`remoteobj serve\` on a bundled counter module), then drives it with this
CLI's own commands (wait, ls, call, get, set) and shows each command, its output and its
exit code: the count rises while on, holds while off, and \`set stop true\` ends the host.

Options:
      --pause SECONDS   how long to let the counter run between readings (default 1)
  -h, --help            this help

Example:
  remoteobj demo
`,
};

export const MAIN_HELP = `Usage: remoteobj COMMAND [ARGS] [options]

Poke a live object hosted by remoteobj from a shell, or host one from a module.

Commands:
  get   SOCKET EXPR          print the value at EXPR as JSON
  call  SOCKET EXPR          run a chain with calls, print the result
  set   SOCKET EXPR VALUE    assign a JSON value
  del   SOCKET EXPR          delete a property
  ls    SOCKET [EXPR]        list members (name, kind, type)
  wait  SOCKET               exit 0 once a host answers (for start-up scripts)
  watch SOCKET EXPR          print a stream's items as JSON lines until interrupted
  repl  SOCKET               a Node.js REPL with \`remote\` bound
  batch SOCKET               requests from stdin, one JSON per line; results likewise
  serve MODULE [EXPORT]      host an object exported by a module
  dial-stdio SOCKET          bridge stdin/stdout to a local host (what ssh:// runs)
  demo                       the counter example, end to end, narrated

Examples:
  remoteobj get /run/app.sock 'cache.stats.hits'
  remoteobj call /run/app.sock 'setLevel("debug", {"sticky": true})'
  remoteobj serve ./counter.js --path /tmp/c.sock

SOCKET is a path or an address: unix:PATH, tls://HOST:PORT, tcp://127.0.0.1:PORT,
ssh://[USER@]HOST[:PORT]/PATH (REMOTEOBJ_SECRET, REMOTEOBJ_TLS_KEY/CERT/CA, REMOTEOBJ_SSH and
REMOTEOBJ_SSH_REMOTE in the environment: docs/transports.md).

Run \`remoteobj COMMAND --help\` for a command's options and examples.
remoteobj --version prints the version.

${EXIT_CODES}
`;
