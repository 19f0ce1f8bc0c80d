import {describe, expect, it} from '@jest/globals'
import {execFileSync, spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {runCli} from '../helpers/cli.js'
import {freePort} from '../helpers/ports.js'

// The CLI as shipped is dist/bundle/cli.cjs (scripts/bundle-cli.mjs): the other tests run
// it through bin/run.js. These check what they would not: that it is the bundle that
// runs, and that it holds everything package.json and the manifest name.
const root = process.cwd()
const bundle = join(root, 'dist/bundle/cli.cjs')

/** Runs a script in a node of its own (no jest flags: V8 takes a code cache only under the flags it was made with). */
function nodeEval<T>(script: string, env: NodeJS.ProcessEnv = {}): T {
  const clean = {...process.env, ...env}
  delete clean.NODE_OPTIONS
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', env: clean})) as T
}

describe('the CLI bundle', () => {
  it('holds every command of the manifest, each one a class oclif can run, the help class and every hook', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {oclif: {hooks: Record<string, string>}}
    const found = nodeEval<{commands: string[]; runnable: string[]; help: boolean; hooks: string[]}>(`
      const {createRequire} = await import('node:module')
      const b = createRequire(import.meta.url)(${JSON.stringify(bundle)})
      const commands = Object.keys(b.COMMANDS)
      const runnable = commands.filter((id) => typeof b.COMMANDS[id].run === 'function')
      const help = typeof b.Help === 'function' && typeof b.Help.prototype.showHelp === 'function'
      const hooks = Object.keys(b).filter((k) => k.startsWith('hook_') && typeof b[k] === 'function')
      console.log(JSON.stringify({commands, runnable, help, hooks}))`)
    expect(found.commands.sort()).toEqual(Object.keys(manifest.commands).sort())
    expect(found.runnable.sort()).toEqual(found.commands.sort())
    expect(found.help).toBe(true)
    expect(found.hooks.sort()).toEqual(Object.keys(pjson.oclif.hooks).map((event) => `hook_${event}`).sort())
  })

  // Both written by the build after CLI calls ran (scripts/warm-up-cli.mjs).
  it('loads from a code cache V8 takes under the CLI\'s options, its own and the etcd client\'s', () => {
    for (const [file, cache] of [[bundle, 'cli.v8-cache'], [join(root, 'dist/vendor/etcd3.cjs'), 'etcd3.v8-cache']]) {
      const loaded = nodeEval<{file: string; rejected: boolean}>(`
        const {loadWithCodeCache} = await import(${JSON.stringify(join(root, 'dist/lib/code-cache.js'))})
        const r = loadWithCodeCache(${JSON.stringify(file)}, [])
        console.log(JSON.stringify({file: r.cacheFile.split('/').pop(), rejected: r.cacheRejected}))`)
      expect(loaded).toEqual({file: cache, rejected: false})
    }
  })

  // Node reads an ASCII file as Latin-1 (src/lib/code-cache.ts), faster than UTF-8. A raw
  // character esbuild leaves in a regular expression is escaped by scripts/bundle-cli.mjs,
  // where it is named: a new one fails here, to be named there.
  it('both bundles are ASCII, so each call reads them one byte a character', () => {
    for (const file of [bundle, join(root, 'dist/vendor/etcd3.cjs')]) {
      const text = readFileSync(file, 'latin1')
      const raw = text.search(/[^\x00-\x7f]/)
      expect(raw === -1 ? 'ASCII' : `${file}: a raw character at ${raw}: ${JSON.stringify(text.slice(raw - 40, raw + 20))}`).toBe('ASCII')
    }
  })

  it('bin/run.js is CommonJS: a call starts no ES module loader', async () => {
    for (const args of [['--version'], ['svc', 'resolve', '--help']]) {
      const result = await runCli(args, {env: {NODE_DEBUG: 'esm'}})
      expect(result.exitCode).toBe(0)
      expect(result.stderr).not.toMatch(/^ESM \d+:/m)
    }
    // The check can fail: an ES module entry shows in the same log.
    const esm = spawnSync(process.execPath, ['--input-type=module', '-e', 'void 0'], {encoding: 'utf8', env: {...process.env, NODE_DEBUG: 'esm'}})
    expect(esm.stderr).toMatch(/^ESM \d+:/m)
  })

  it('is what bin/run.js runs: no module of @oclif/core is read from node_modules, help and a command still answer', async () => {
    // NODE_DEBUG=module names every CommonJS module node loads (oclif's are CommonJS).
    const nobody = `http://127.0.0.1:${await freePort()}`
    for (const args of [['--version'], ['svc', 'resolve', '--help'], ['network', 'show', '--json', '--etcd-endpoints', nobody, '--etcd-timeout', '1s']]) {
      const result = await runCli(args, {env: {NODE_DEBUG: 'module'}})
      expect(result.stderr).not.toMatch(/node_modules\/@oclif\/core/)
      expect(result.stderr).toMatch(/MODULE \d+: load built-in module node:vm/)
      if (args[0] === '--version') expect(result.stdout).toMatch(/^cnet\/\d+\.\d+\.\d+ /)
      if (args[1] === 'resolve') expect(result.stdout).toContain('$ cnet svc resolve NAME')
      // Unreachable etcd: the documented exit code 4, from the bundle's own error handling.
      if (args[0] === 'network') expect(result.exitCode).toBe(4)
    }
  })
})
