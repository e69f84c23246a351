/**
 * Jest's order of the test files: the longest first, so that the workers finish together instead
 * of one starting a one-minute suite while the others have nothing left to do.
 *
 * Jest's own sequencer does this from the durations it cached in the last run on this machine; a
 * fresh clone (CI) has none, and Jest then takes the biggest files first, which started
 * bench-smoke (one test, ~60 s) wherever its file size put it. So durations measured in full
 * runs (seconds, 2-core VM, `npx jest --json`, mean of a 2- and a 3-worker run) stand in where
 * Jest has none; a file in neither counts as 1 s. Files that failed last time still come first, as in Jest's.
 */
const path = require('node:path');
const Sequencer = require(require.resolve('@jest/test-sequencer', { paths: [path.dirname(require.resolve('jest-config'))] })).default;

/** Measured durations of the files that take 2 s or more (file name without .test.ts). */
const SECONDS = {
  'bench-smoke': 55, 'docs-snippets': 40, 'cli-commands': 36, 'process-fork': 29,
  'types-consumer': 27, 'transports': 21, 'streams-process': 19, 'process-loaders': 18,
  'ssh-cli': 10, 'cli-serve': 10, 'cli-batch': 10, 'line-reader': 9, 'process-trust': 9,
  'control-cancel': 8, 'package': 8, 'protocol-compiled': 8, 'security-limits': 8,
  'cli-serve-modules': 8, 'process-modules': 7, 'ports': 7, 'lock-interleavings': 7,
  'cli-missing': 6, 'except-remote': 6, 'path-claim': 5, 'cli-terminal-safe': 5,
  'request-deadlines': 5, 'process-death': 5, 'twoway-release': 5, 'fuzz': 4,
  'twoway-handles-memory': 4, 'connection-flood': 4, 'demo': 4, 'host-death': 3,
  'security-owned': 3, 'faults-restart': 3, 'security-access': 3, 'cli-wait': 3,
  'cli-repl-errors': 3, 'security-auth': 3, 'package-files': 2, 'cli-serve-control': 2,
  'security-socket': 2, 'cli-repl': 2, 'faults-kill': 2, 'host-lock': 2, 'transports-address': 2,
  'load': 2, 'streams-fuzz': 2, 'cli-demo': 2, 'faults-close': 2, 'twoway-lock': 2,
  'twoway-emitter-50': 2, 'backpressure-bytes': 2,
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
