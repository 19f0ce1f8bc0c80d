#!/usr/bin/env node
// Node deprecation notices (gRPC sets a TLS server name for IP endpoints) are not cnet logs.
process.noDeprecation = true
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

// The CLI as the build bundled it (scripts/bundle-cli.mjs), with V8's code cache; else
// oclif's executor over the modules of dist/ (a build that made no bundle).
const bundle = fileURLToPath(new URL('../dist/bundle/cli.cjs', import.meta.url))
if (existsSync(bundle)) {
  const {requireWithCodeCache} = await import('../dist/lib/code-cache.js')
  await requireWithCodeCache(bundle).runBundled(import.meta.url)
} else {
  const {execute} = await import('@oclif/core/execute')
  await execute({dir: import.meta.url})
}
