#!/bin/sh
':' //; CNET_GIVEN_GLIBC_TUNABLES="${GLIBC_TUNABLES+=$GLIBC_TUNABLES}" GLIBC_TUNABLES="glibc.malloc.hugetlb=1${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}" exec node "$0" "$@"
// Run as a program (`cnet`, `./bin/run.js`), this file is first a shell script: the line
// above starts node on it with glibc's transparent huge pages tunable, which glibc reads
// only as a process starts. A listing's replies are fresh blocks of megabytes, each 4 KB
// page of which faulted on the copy that fills it: `svc list --json` over 100,000
// instances took 0.907x, 0.939x and 0.936x the time with it (three runs of 10 pairs;
// docs/scale.md). An operator's own GLIBC_TUNABLES comes after it, so it wins. To node,
// that line is a string and a comment. `node bin/run.js` skips it.
//
// CommonJS (bin/package.json): an ES module entry starts Node's module loader first.
// `cnet --version` took 0.960x, 0.965x and 0.952x as long as from such an entry (three
// runs of 20 pairs; 181-185 against 188-191 ms at the medians).
'use strict'
// What cnet runs (ip, iptables, a health check's or `svc watch --exec`'s command, dns
// serve's workers) gets the environment cnet was given, not the tunable added above.
if ('CNET_GIVEN_GLIBC_TUNABLES' in process.env) {
  const given = process.env.CNET_GIVEN_GLIBC_TUNABLES
  delete process.env.CNET_GIVEN_GLIBC_TUNABLES
  if (given) process.env.GLIBC_TUNABLES = given.slice(1)
  else delete process.env.GLIBC_TUNABLES
}
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
