import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {IMPORT_PARAMETER, codeCacheFile, loadWithCodeCache, nodeOptionsOf, requireWithCodeCache, writeCodeCache} from '../../src/lib/code-cache.js'

/** The bundled etcd client is loaded with V8's code cache: it must load exactly as require would, with or without a usable cache. */
describe('requireWithCodeCache', () => {
  let dir: string
  let file: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnet-code-cache-'))
    file = join(dir, 'bundle.cjs')
    writeFileSync(file, "'use strict'\nconst path = require('node:path')\nexports.where = path.basename(__dirname) + '/' + path.basename(__filename)\nmodule.exports.twice = (n) => n * 2\n")
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const twice = (loaded: unknown) => (loaded as {twice(n: number): number}).twice

  it('without a cache: the file loads as require loads it (exports, module, require, its paths)', () => {
    const loaded = requireWithCodeCache(file, []) as {where: string; twice(n: number): number}
    expect(loaded.where).toBe(`${join(dir).split('/').pop()}/bundle.cjs`)
    expect(loaded.twice(21)).toBe(42)
    expect(loadWithCodeCache(file, []).cacheFile).toBeUndefined()
  })

  it('the build writes a cache beside the file, and the file loads the same from it', () => {
    expect(writeCodeCache(file, [])).toBe(join(dir, 'bundle.v8-cache'))
    expect(statSync(join(dir, 'bundle.v8-cache')).size).toBeGreaterThan(0)
    const loaded = loadWithCodeCache(file, [])
    expect(twice(loaded.exports)(4)).toBe(8)
    expect(loaded).toMatchObject({cacheFile: join(dir, 'bundle.v8-cache'), cacheRejected: false})
  })

  it('a later require() of the file gets the exports it loaded, not a second copy', () => {
    // In a node of its own: jest's require is not Node's.
    const code = "const m = await import(process.argv[1]); const {createRequire} = await import('node:module'); const loaded = m.requireWithCodeCache(process.argv[2], []); console.log(createRequire(process.argv[2])(process.argv[2]) === loaded)"
    expect(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, join(process.cwd(), 'src/lib/code-cache.ts'), file], {encoding: 'utf8'}).trim()).toBe('true')
  })

  // V8 keeps a vm script's import() callback in its code cache, where it names one of the
  // writer's: under Node 20 every import() in a file loaded from a cache another process
  // made failed. The CLI bundle, which loads oclif's plugins that way, calls the loader's.
  it('a file loaded from a cache another process wrote imports modules through the loader', () => {
    const importing = join(dir, 'imports.cjs')
    writeFileSync(importing, `exports.osType = async () => (await ${IMPORT_PARAMETER}('node:os')).type()\n`)
    const source = join(process.cwd(), 'src/lib/code-cache.ts')
    const node = (code: string) => execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, source, importing], {encoding: 'utf8'})
    node('const m = await import(process.argv[1]); m.writeCodeCache(process.argv[2], [], (e) => e.osType)')
    const answer = node('const m = await import(process.argv[1]); const r = m.loadWithCodeCache(process.argv[2], []); console.log(JSON.stringify({rejected: r.cacheRejected, type: await r.exports.osType()}))')
    expect(JSON.parse(answer)).toEqual({rejected: false, type: 'Linux'})
  })

  // An ASCII file is read as Latin-1 (faster); any other as UTF-8, or its text would change.
  it('a file that is not ASCII loads with its text as written, with or without a cache', () => {
    const utf8 = join(dir, 'utf8.cjs')
    writeFileSync(utf8, "exports.word = 'caf\u00e9'\nexports.strip = (s) => s.replace(/[\u001b\u009b]\\[?[0-9;]*m/g, '')\n")
    expect(readFileSync(utf8).length).toBeGreaterThan(readFileSync(utf8, 'utf8').length)
    for (const withCache of [false, true]) {
      if (withCache) writeCodeCache(utf8, [])
      const loaded = loadWithCodeCache(utf8, [])
      const {word, strip} = loaded.exports as {word: string; strip(s: string): string}
      expect(word).toBe('caf\u00e9')
      expect(strip('\u001b[31mred\u001b[0m \u009b1mbold\u009b0m')).toBe('red bold')
      expect(loaded.cacheRejected).toBe(withCache ? false : undefined)
    }
  })

  // The build writes the CLI's caches after CLI calls ran (scripts/warm-up-cli.mjs).
  it('writeLoadedCodeCaches writes the cache of each file loaded, with the functions run since in it', () => {
    const lazy = join(dir, 'lazy.cjs')
    writeFileSync(lazy, `exports.later = (n) => { const squares = []; for (let i = 0; i < n; i++) squares.push(i * i); return squares.join(',') }\n`)
    const code = `
      const m = await import(process.argv[1])
      const loaded = m.loadWithCodeCache(process.argv[2], []).exports
      const [written] = m.writeLoadedCodeCaches([]).filter((f) => f.endsWith('lazy.v8-cache'))
      const before = (await import('node:fs')).statSync(written).size
      const result = loaded.later(4)
      m.writeLoadedCodeCaches([])
      console.log(JSON.stringify({written, before, after: (await import('node:fs')).statSync(written).size, result}))`
    const source = join(process.cwd(), 'src/lib/code-cache.ts')
    const node = (script: string) => execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, source, lazy], {encoding: 'utf8'})
    const made = JSON.parse(node(code)) as {written: string; before: number; after: number; result: string}
    expect(made).toMatchObject({written: codeCacheFile(lazy, []), result: '0,1,4,9'})
    // The function compiled when it first ran is in the second cache, not the first.
    expect(made.after).toBeGreaterThan(made.before)
    const taken = JSON.parse(node('const m = await import(process.argv[1]); const r = m.loadWithCodeCache(process.argv[2], []); console.log(JSON.stringify({rejected: r.cacheRejected, result: r.exports.later(3)}))')) as unknown
    expect(taken).toEqual({rejected: false, result: '0,1,4'})
  })

  it('options without a cache of their own read the one made under none', () => {
    expect(loadWithCodeCache(file, ['--enable-source-maps']).cacheFile).toBe(join(dir, 'bundle.v8-cache'))
  })

  it('a cache V8 cannot use is ignored, not an error', () => {
    const broken = join(dir, 'broken.cjs')
    writeFileSync(broken, readFileSync(file))
    writeFileSync(codeCacheFile(broken, []), Buffer.from('not a code cache'))
    const loaded = loadWithCodeCache(broken, [])
    expect(twice(loaded.exports)(5)).toBe(10)
    expect(loaded.cacheRejected).toBe(true)
    expect(readFileSync(codeCacheFile(broken, []), 'utf8')).toBe('not a code cache')
  })

  // dns serve's workers run with V8's semi-spaces capped; V8 refused the CLI's cache under that flag, so each worker compiled the etcd client in full.
  it('a cache made under V8 flags is taken under those flags, where the one made under none is refused', () => {
    const code = "const m = await import(process.argv[1]); const r = m.loadWithCodeCache(process.argv[2], JSON.parse(process.argv[3])); console.log(JSON.stringify({file: r.cacheFile, rejected: r.cacheRejected}))"
    const source = join(process.cwd(), 'src/lib/code-cache.ts')
    const run = (flags: string[], options: string[]) => JSON.parse(execFileSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', code, source, file, JSON.stringify(options)], {encoding: 'utf8'})) as {file: string; rejected: boolean}
    const flag = ['--max-semi-space-size=2']
    // Under the flag, with only the plain cache: V8 refuses it.
    expect(run(flag, flag)).toEqual({file: join(dir, 'bundle.v8-cache'), rejected: true})
    execFileSync(process.execPath, [...flag, '--import', 'tsx', '--input-type=module', '-e', 'const m = await import(process.argv[1]); m.writeCodeCache(process.argv[2], JSON.parse(process.argv[3]))', source, file, JSON.stringify(flag)])
    const own = codeCacheFile(file, flag)
    expect(existsSync(own)).toBe(true)
    expect(run(flag, flag)).toEqual({file: own, rejected: false})
    expect(run([], [])).toEqual({file: join(dir, 'bundle.v8-cache'), rejected: false})
  })
})

describe('codeCacheFile and nodeOptionsOf', () => {
  it('names a cache by its options, in any order and spelling node takes', () => {
    expect(codeCacheFile('/d/etcd3.cjs', [])).toBe('/d/etcd3.v8-cache')
    const one = codeCacheFile('/d/etcd3.cjs', ['--max-semi-space-size=2', '--cpu-prof'])
    expect(one).toMatch(/^\/d\/etcd3\.[0-9a-f]{8}\.v8-cache$/)
    expect(codeCacheFile('/d/etcd3.cjs', ['--cpu-prof', '--max-semi-space-size=2'])).toBe(one)
    expect(codeCacheFile('/d/etcd3.cjs', ['--max-semi-space-size=4'])).not.toBe(codeCacheFile('/d/etcd3.cjs', ['--max-semi-space-size=2']))
    expect(nodeOptionsOf({execArgv: ['--max_semi_space_size=2'], env: {NODE_OPTIONS: ' --cpu-prof  --title=a_b '}})).toEqual(['--max-semi-space-size=2', '--cpu-prof', '--title=a_b'])
    expect(nodeOptionsOf({execArgv: [], env: {}})).toEqual([])
  })
})
