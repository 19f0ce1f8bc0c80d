// For the build: V8's code caches, one for every set of node options cnet runs a bundle
// under. V8 takes a cache only under the flags it was made with.
// - `--workers dist/vendor/etcd3.cjs`: the etcd client for `dns serve`'s workers, which run
//   with their memory settings (src/dns/worker-memory.ts); made by loading it once.
// - `--cli`: the CLI bundle's cache and the etcd client's for the CLI (no options), each
//   written after CLI calls ran (scripts/warm-up-cli.mjs): the code of every command's
//   module, the help class, the hooks, and what a call runs are in them. About 5% of a
//   `svc resolve` call against caches made by loading alone (paired, docs/benchmarks.md).
// Each is written by a node started with those options and nothing else (not the
// builder's NODE_OPTIONS).
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '')
const [mode, bundle] = process.argv.slice(2)
if (mode === '--cli') {
  warmUpCli()
} else if (mode === '--workers' && bundle) {
  const {WORKER_SEMI_SPACE_OPTION} = await import('../dist/dns/worker-memory.js')
  const options = [WORKER_SEMI_SPACE_OPTION]
  const env = {...process.env}
  delete env.NODE_OPTIONS
  // The options are named to writeCodeCache: the writer's own command line has -e besides.
  const write = 'import("./dist/lib/code-cache.js").then((m) => m.writeCodeCache(process.argv[1], JSON.parse(process.argv[2])))'
  execFileSync(process.execPath, [...options, '-e', write, bundle, JSON.stringify(options)], {env, stdio: 'inherit'})
} else {
  throw new Error('usage: write-code-caches.mjs --workers <bundle.cjs> | --cli')
}

/** Runs the warm-up in a node of its own, with none of the builder's cnet settings (a stand-in etcd takes no credentials), and checks it did what it says. */
function warmUpCli() {
  const home = mkdtempSync(join(tmpdir(), 'cnet-warm-up-'))
  try {
    const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_STATE_HOME: home, NO_COLOR: '1', NODE_ENV: 'production'}
    const run = spawnSync(process.execPath, [join(root, 'scripts/warm-up-cli.mjs'), root], {env, encoding: 'utf8', timeout: 60_000})
    const expected = [
      [run.stdout.trim() === '[]', '`svc list --json` printed []'],
      [run.stderr.includes('no instance is registered'), '`svc resolve` ended in its not-found error'],
      [run.stderr.includes('caches dist/bundle/cli.v8-cache dist/vendor/etcd3.v8-cache'), 'both caches were written'],
    ]
    const missed = expected.filter(([ok]) => !ok).map(([, what]) => what)
    if (missed.length) throw new Error(`the CLI's code cache warm-up did not go as planned (${missed.join('; ')}): exit ${run.status}\n${run.stdout}${run.stderr}${run.error ?? ''}`)
  } finally {
    rmSync(home, {recursive: true, force: true})
  }
}
