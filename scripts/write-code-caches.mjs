// For the build: V8's code cache of a bundle (dist/vendor/etcd3.cjs), once for every set
// of node options cnet runs it under. V8 takes a cache only under the flags it was made
// with: the CLI runs with none, `dns serve`'s workers with their memory settings
// (src/dns/worker-memory.ts). Each is written by a node started with those options and
// nothing else (not the builder's NODE_OPTIONS).
import {execFileSync} from 'node:child_process'

const [bundle] = process.argv.slice(2)
if (!bundle) throw new Error('usage: write-code-caches.mjs <bundle.cjs>')
const {WORKER_SEMI_SPACE_OPTION} = await import('../dist/dns/worker-memory.js')
const optionSets = [[], [WORKER_SEMI_SPACE_OPTION]]
const env = {...process.env}
delete env.NODE_OPTIONS
// The options are named to writeCodeCache: the writer's own command line has -e besides.
const write = 'import("./dist/store/code-cache.js").then((m) => m.writeCodeCache(process.argv[1], JSON.parse(process.argv[2])))'
for (const options of optionSets) execFileSync(process.execPath, [...options, '-e', write, bundle, JSON.stringify(options)], {env, stdio: 'inherit'})
