#!/usr/bin/env node
// CommonJS (bin/package.json): an ES module entry starts Node's module loader first.
// `cnet --version` took 0.960x, 0.965x and 0.952x as long as from such an entry (three
// runs of 20 pairs; 181-185 against 188-191 ms at the medians).
'use strict'
// Node deprecation notices (gRPC sets a TLS server name for IP endpoints) are not cnet logs.
process.noDeprecation = true
const {existsSync} = require('node:fs')
const {join} = require('node:path')

const root = join(__dirname, '..')
// The CLI as the build bundled it (scripts/bundle-cli.mjs), with V8's code cache; else
// oclif's executor over the modules of dist/ (a build that made no bundle).
const bundle = join(root, 'dist/bundle/cli.cjs')
if (existsSync(bundle)) {
  require('../dist/bundle/code-cache.cjs').requireWithCodeCache(bundle).runBundled(root)
} else {
  import('@oclif/core/execute').then(({execute}) => execute({dir: root}))
}
