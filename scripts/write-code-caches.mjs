// For the build: V8's code cache of a bundle, once for every set of node options cnet
// runs it under. V8 takes a cache only under the flags it was made with.
// - dist/vendor/etcd3.cjs: the CLI runs it with no options, `dns serve`'s workers with
//   their memory settings (src/dns/worker-memory.ts).
// - dist/bundle/cli.cjs (--cli): only the CLI loads it. Its commands' modules run only when
//   their command does, so the cache is made after reading every command, the help class
//   and the hooks: their modules' code is in it too.
// Each is written by a node started with those options and nothing else (not the
// builder's NODE_OPTIONS).
import {execFileSync} from 'node:child_process'

const cli = process.argv[2] === '--cli'
const [bundle] = process.argv.slice(cli ? 3 : 2)
if (!bundle) throw new Error('usage: write-code-caches.mjs [--cli] <bundle.cjs>')
const {WORKER_SEMI_SPACE_OPTION} = await import('../dist/dns/worker-memory.js')
const optionSets = cli ? [[]] : [[], [WORKER_SEMI_SPACE_OPTION]]
const env = {...process.env}
delete env.NODE_OPTIONS
// The options are named to writeCodeCache: the writer's own command line has -e besides.
const warm = cli ? '(b) => { for (const name of Object.keys(b.COMMANDS)) void b.COMMANDS[name]; for (const name of Object.keys(b)) void b[name] }' : 'undefined'
const write = `import("./dist/lib/code-cache.js").then((m) => m.writeCodeCache(process.argv[1], JSON.parse(process.argv[2]), ${warm}))`
for (const options of optionSets) execFileSync(process.execPath, [...options, '-e', write, bundle, JSON.stringify(options)], {env, stdio: 'inherit'})
