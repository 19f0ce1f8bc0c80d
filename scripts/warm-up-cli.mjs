// For the build (scripts/write-code-caches.mjs --cli): V8's code caches of the CLI bundle
// and of the etcd client bundle, written after CLI calls have run in this process, so a
// call finds compiled what it runs (oclif's config and parser, the base command, the
// store's lists, gRPC's channel and call), not only what loading the bundles ran.
//
// The calls go to a stand-in for etcd on loopback: an HTTP/2 server that answers every
// gRPC call with an empty Range reply at revision 1. `svc list --json` lists nothing and
// succeeds; `svc resolve` ends in its error, as on an empty registry, and its exit writes
// the caches. The parent checks that each call did what it says here.
//
// Usage: node scripts/warm-up-cli.mjs ROOT (no node options: the caches are the CLI's).
import {createServer} from 'node:http2'
import {createRequire} from 'node:module'
import {join} from 'node:path'

const root = process.argv[2]
if (!root) throw new Error('usage: warm-up-cli.mjs ROOT')
const require = createRequire(import.meta.url)

/** A gRPC message (not compressed, its length, then the bytes): RangeResponse{header: {revision: 1}}. */
const EMPTY_RANGE_REPLY = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x18, 0x01])

const server = createServer()
server.on('stream', (stream) => {
  stream.on('data', () => {})
  stream.on('end', () => {
    stream.respond({':status': 200, 'content-type': 'application/grpc'}, {waitForTrailers: true})
    stream.on('wantTrailers', () => stream.sendTrailers({'grpc-status': '0'}))
    stream.end(EMPTY_RANGE_REPLY)
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const endpoint = `http://127.0.0.1:${server.address().port}`

// bin/run.js's loader, so the CLI bundle's script is the one it keeps.
const launcher = require(join(root, 'dist/bundle/code-cache.cjs'))
const cli = launcher.requireWithCodeCache(join(root, 'dist/bundle/cli.cjs'), [])
// Every command's module, the help class and the hooks, as a call of each would load them.
for (const name of Object.keys(cli.COMMANDS)) void cli.COMMANDS[name]
for (const name of Object.keys(cli)) void cli[name]

process.on('exit', (code) => {
  const written = [...launcher.writeLoadedCodeCaches([]), ...cli.writeLoadedCodeCaches([])]
  process.stderr.write(`warm-up: exit ${code}, caches ${written.map((file) => file.slice(root.length + 1)).join(' ')}\n`)
})

for (const args of [['svc', 'list', '--json'], ['svc', 'resolve', 'warm-up']]) {
  process.stderr.write(`warm-up: cnet ${args.join(' ')}\n`)
  process.argv = [process.execPath, join(root, 'bin/run.js'), ...args, '--etcd-endpoints', endpoint, '--etcd-timeout', '5s']
  await cli.runBundled(root)
}
server.close()
