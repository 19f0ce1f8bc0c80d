import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {requireWithCodeCache, writeCodeCache} from '../../src/store/code-cache.js'

/** The bundled etcd client is loaded with V8's code cache: it must load exactly as require would, with or without a usable cache. */
describe('requireWithCodeCache', () => {
  let dir: string
  let file: string
  let cache: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnet-code-cache-'))
    file = join(dir, 'bundle.cjs')
    cache = join(dir, 'bundle.v8-cache')
    writeFileSync(file, "'use strict'\nconst path = require('node:path')\nexports.where = path.basename(__dirname) + '/' + path.basename(__filename)\nmodule.exports.twice = (n) => n * 2\n")
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('without a cache: the file loads as require loads it (exports, module, require, its paths)', () => {
    const loaded = requireWithCodeCache(file, cache) as {where: string; twice(n: number): number}
    expect(loaded.where).toBe(`${join(dir).split('/').pop()}/bundle.cjs`)
    expect(loaded.twice(21)).toBe(42)
  })

  it('the build writes a cache, and the file loads the same from it', () => {
    writeCodeCache(file, cache)
    expect(statSync(cache).size).toBeGreaterThan(0)
    expect((requireWithCodeCache(file, cache) as {twice(n: number): number}).twice(4)).toBe(8)
  })

  it('a cache V8 cannot use is ignored, not an error', () => {
    writeFileSync(cache, Buffer.from('not a code cache'))
    expect((requireWithCodeCache(file, cache) as {twice(n: number): number}).twice(5)).toBe(10)
    expect(readFileSync(cache, 'utf8')).toBe('not a code cache')
  })
})
