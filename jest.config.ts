import type { Config } from 'jest';

// ESM-only dependencies that Jest (on Node 20) must transform to CommonJS.
const esmOnly = ['serialize-error', 'non-error'];

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^remoteobj$': '<rootDir>/src/index.ts' },
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      {
        jsc: { target: 'es2022', parser: { syntax: 'typescript', explicitResourceManagement: true } },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  testTimeout: 30000,
  // Jest's default on 2 cores is one worker; most suites wait on child processes and sockets, so
  // two workers took the run from 4 min 53 s to 3 min 39 s (measured on the 2-core VM), and a
  // third fills more of that waiting: back to back on the shared 2-core VM, 212 s with two and
  // 183 s with three (465 s and 300 s at a load average of 9), the same CPU time. But with three,
  // a fresh-clone CI run failed twoway-handles-memory's 8 MiB heap bound (9.9 MiB; 5.4 alone), as
  // four had before: under that load its child's collections leave more behind. Two, until that
  // measurement is steadier under load.
  maxWorkers: 2,
  // Longest files first, from measured durations when Jest has none cached (a fresh clone).
  testSequencer: '<rootDir>/__tests__/sequencer.js',
};

export default config;
