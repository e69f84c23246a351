#!/usr/bin/env bash
# Talk wire protocol v1 to a real host, by hand: starts a small host (ts-node), then sends
# request lines through socat (when installed) and through a 20-line Python client.
# Usage: scripts/wire-example.sh        (from anywhere; needs node, python3; socat optional)
# docs/protocol.md shows this script's output.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/remoteobj-wire.XXXXXX)
SOCK="$DIR/demo.sock"
HOST_PID=""
cleanup() {
  if [ -n "$HOST_PID" ]; then kill "$HOST_PID" 2>/dev/null || true; wait "$HOST_PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

# --- the host: a Counter served on $SOCK -------------------------------------------------
cat > "$DIR/host.ts" <<TS
import { serve } from '$ROOT/src';

class Thing {
  describe() { return 'a thing'; }
}
class Counter extends Thing {
  count = 0;
  items = ['apple', 'pear'];
  tags = new Set(['red']);
  created = new Date(0);
  add(n = 1) { this.count += n; return this.count; }
  reset() { this.count = 0; return this; }
  async later(ms: number) { await new Promise((r) => setTimeout(r, ms)); return this.count; }
  override describe() { return 'a counter'; }
  fail() { throw new RangeError('out of range'); }
}

serve(new Counter(), process.argv[2]!).then((host) => {
  console.log('listening on ' + host.path);
  process.on('SIGTERM', () => void host.close());
});
TS
(cd "$ROOT" && TS_NODE_PROJECT="$ROOT/tsconfig.json" exec node -r ts-node/register "$DIR/host.ts" "$SOCK") &
HOST_PID=$!
for _ in $(seq 1 200); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { echo "the host did not start" >&2; exit 1; }

# --- 1. socat: one line out (>), one line back (<) ----------------------------------------
if command -v socat >/dev/null; then
  echo "== socat - UNIX-CONNECT:$SOCK"
  coproc WIRE { socat - UNIX-CONNECT:"$SOCK"; }
  IFS= read -r line <&"${WIRE[0]}"; echo "< $line"           # the hello
  while IFS= read -r req; do
    echo "> $req"
    printf '%s\n' "$req" >&"${WIRE[1]}"
    IFS= read -r line <&"${WIRE[0]}"; echo "< $line"
  done <<'LINES'
{"id":"ping","ops":[]}
{"id":1,"ops":[{"op":"get","key":"count"}]}
{"id":2,"ops":[{"op":"get","key":"add"},{"op":"call","args":[5]}]}
{"id":3,"ops":[{"op":"get","key":"items"},{"op":"get","key":1}]}
{"id":4,"ops":[{"op":"get","key":"items"},{"op":"len"}]}
{"id":5,"ops":[{"op":"get","key":"items"},{"op":"has","value":"apple"}]}
{"id":6,"ops":[{"op":"get","key":"tags"}]}
{"id":7,"ops":[{"op":"get","key":"created"}]}
{"id":8,"ops":[{"op":"set","key":"count","value":41}]}
{"id":9,"ops":[{"op":"get","key":"later"},{"op":"call","args":[50]}]}
{"id":10,"ops":[{"op":"super","key":"describe"},{"op":"call"}]}
{"id":11,"ops":[{"op":"passto","name":"Object.keys"}]}
{"id":"members","ops":[{"op":"describe"}]}
{"id":12,"ops":[{"op":"get","key":"reset"},{"op":"call"}]}
{"id":13,"ops":[{"op":"get","key":"fail"},{"op":"call"}]}
{"id":14,"ops":[{"op":"get","key":"constructor"}]}
{"id":15,"ops":[{"op":"jump"}]}
this is not json
LINES
  exec {WIRE[1]}>&-                                          # hang up
  wait "$WIRE_PID" 2>/dev/null || true
  echo
fi

# --- 2. Python: a minimal client ----------------------------------------------------------
echo "== python3 client"
python3 - "$SOCK" <<'PY'
import json, socket, sys

class Remote:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.lines = self.sock.makefile('rb')
        hello = json.loads(self.lines.readline())
        assert hello['protocol'] == 'remoteobj' and hello['version'] == 1, hello
        self.last_id = 0

    def request(self, *ops):
        self.last_id += 1
        self.sock.sendall(json.dumps({'id': self.last_id, 'ops': list(ops)}).encode() + b'\n')
        reply = json.loads(self.lines.readline())  # one request at a time: the next line is ours
        if reply['kind'] == 'value': return reply['value']
        if reply['kind'] == 'self': return 'SELF'
        if reply['kind'] == 'error': raise RuntimeError('%(name)s: %(message)s' % reply['error'])
        raise RuntimeError('reply kind %r is not in protocol v1' % reply['kind'])

r = Remote(sys.argv[1])
print(r.request({'op': 'get', 'key': 'add'}, {'op': 'call', 'args': [2]}))  # remote.add(2)
print(r.request({'op': 'get', 'key': 'items'}))                           # remote.items
try:
    r.request({'op': 'get', 'key': 'fail'}, {'op': 'call'})                # remote.fail()
except RuntimeError as e:
    print('error:', e)
PY
