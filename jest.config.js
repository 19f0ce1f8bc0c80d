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

export default {
  verbose: true,
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
