// Three tiers, told apart by file name: *.test.ts (unit), *.integration.test.ts
// (a real etcd), *.e2e.test.ts (root, network namespaces, real clients).
const transform = {
  '^.+\\.ts$': ['@swc/jest', {jsc: {parser: {syntax: 'typescript'}, target: 'es2022'}, module: {type: 'es6'}}],
}
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform,
  testEnvironment: 'node',
}

// `--coverage` (scripts/test.sh gives it to the unit tier) measures src/ and fails the run
// below these lines-covered floors: all of src/, and each decision-heavy daemon file on
// its own (jest leaves a file named here out of the global figure).
const DECISION_FILES = ['dns/handler', 'health/prober', 'health/health-writer', 'net/vxlan/watch', 'dns/index', 'dns/forward', 'net/subnet-admin']

export default {
  verbose: true,
  collectCoverageFrom: ['<rootDir>/src/**/*.ts'],
  coverageDirectory: '<rootDir>/coverage',
  coverageReporters: ['text-summary', 'json-summary'],
  coverageThreshold: {
    global: {lines: 80},
    ...Object.fromEntries(DECISION_FILES.map((file) => [`./src/${file}.ts`, {lines: 80}])),
  },
  // Integration and end-to-end tests spawn the CLI and etcd; the machine may be busy.
  testTimeout: 60_000,
  projects: [
    {...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts']},
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.integration.test.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
    },
  ],
}
