/**
 * Jest's order of the test files: the longest first, so that the two workers finish together
 * instead of one starting a one-minute suite while the other has nothing left to do.
 *
 * Jest's own sequencer does this from the durations it cached in the last run on this machine; a
 * fresh clone (CI) has none, and Jest then takes the biggest files first, which started
 * bench-smoke (one test, ~60 s) wherever its file size put it. So durations measured in a full
 * run (seconds, 2-core VM, `npx jest --json`) stand in where Jest has none; a file in neither
 * counts as 1 s. Files that failed last time still come first, as in Jest's.
 */
const path = require('node:path');
const Sequencer = require(require.resolve('@jest/test-sequencer', { paths: [path.dirname(require.resolve('jest-config'))] })).default;

/** Measured durations of the files that take 2 s or more (file name without .test.ts). */
const SECONDS = {
  'bench-smoke': 61, 'docs-snippets': 54, 'cli-commands': 52, 'process-fork': 46, 'transports': 45,
  'types-consumer': 34, 'process-loaders': 27, 'control-cancel': 26,
  'streams-process': 24, 'package': 20, 'path-claim': 19, 'ssh-cli': 19, 'cli-serve': 18,
  'process-modules': 16, 'cli-missing': 16, 'security-owned': 15, 'host-death': 15,
  'protocol-compiled': 15, 'line-reader': 13, 'fuzz': 13, 'process-trust': 12, 'ports': 11,
  'security-limits': 11, 'cli-terminal-safe': 11, 'except-remote': 11, 'cli-batch': 10,
  'cli-serve-modules': 10, 'faults-restart': 10, 'lock-interleavings': 9, 'request-deadlines': 8,
  'twoway-handles-memory': 8, 'package-files': 7, 'process-death': 7, 'connection-flood': 7,
  'demo': 7, 'security-access': 6, 'twoway-release': 6, 'security-socket': 6,
  'cli-serve-control': 6, 'chaining': 5, 'cli-repl': 5, 'seed-counter': 5, 'streams-cli': 5,
  'cli-wait': 5, 'auth-limits': 4, 'streams-fuzz': 4, 'transports-address': 4, 'host-lock': 4,
  'faults-kill': 4, 'cli-repl-errors': 4, 'load': 4, 'codec': 3, 'security-auth': 3,
  'streams-window': 3, 'faults-close': 3, 'host-socket': 3, 'control-events': 3,
  'process-private-state': 3, 'cli-demo': 3, 'host-bad-input': 2, 'security-realms': 2,
  'twoway-negotiation': 2, 'twoway-lock': 2, 'twoway-emitter-50': 2, 'wait-stderr': 2,
  'seed-idk': 2, 'socket-address': 2, 'pending-table': 2, 'request-line': 2,
};

class LongestFirst extends Sequencer {
  sort(tests) {
    const seconds = (test) => {
      const cached = this.time(test);
      if (cached != null) return cached / 1000;
      return SECONDS[path.basename(test.path, '.test.ts')] ?? 1;
    };
    const keyed = tests.map((test) => ({ test, failed: this.hasFailed(test), seconds: seconds(test) }));
    keyed.sort((a, b) => (a.failed !== b.failed ? (a.failed ? -1 : 1) : b.seconds - a.seconds));
    return keyed.map((k) => k.test);
  }
}

module.exports = LongestFirst;
