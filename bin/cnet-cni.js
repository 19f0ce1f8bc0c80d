#!/usr/bin/env node
// The CNI plugin alone, as runtimes run it through the shim `cnet cni install` writes:
// one bundled file (dist/cni-plugin.cjs) with neither oclif nor the etcd client, compiled
// from a V8 code cache made at build time, so a container start pays little more than
// Node's own start. `cnet cni` runs the same code through the CLI.
//
// `--write-code-cache` (run by the build, never by a runtime: runtimes pass plugins no
// arguments) loads the bundle, answers VERSION and saves the compiled code next to it.
// A cache this Node cannot use (another version) is ignored by V8 and costs nothing.
import {readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {Script} from 'node:vm'

const bundle = new URL('../dist/cni-plugin.cjs', import.meta.url).pathname
const cacheFile = new URL('../dist/cni-plugin.cache', import.meta.url).pathname
const writeCache = process.argv[2] === '--write-code-cache'

let cachedData
if (!writeCache) {
  try {
    cachedData = readFileSync(cacheFile)
  } catch {
    // no cache: compiled from source
  }
}
const source = readFileSync(bundle, 'utf8')
const script = new Script(`(function (exports, require, module) {${source}\n})`, {filename: bundle, cachedData})
const module = {exports: {}}
script.runInThisContext()(module.exports, createRequire(bundle), module)

if (writeCache) {
  const env = {CNI_COMMAND: 'VERSION'}
  const output = await module.exports.runCni(env, '{"cniVersion":"1.0.0"}')
  if (output.exitCode !== 0) throw new Error(`the CNI plugin bundle does not answer VERSION: ${output.stdout}`)
  writeFileSync(cacheFile, script.createCachedData())
} else {
  await module.exports.main()
}
