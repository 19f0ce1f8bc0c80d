import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, resolve} from 'node:path'
import {Script} from 'node:vm'

/**
 * Loads one CommonJS file the way require does, but with V8's code cache for it: the
 * compiled code of the file and of every function its loading ran, saved by the build.
 * The bundled etcd client is half a megabyte that every CLI call compiles; from the
 * cache that is about 40 ms of CPU less per call on a 2-core machine. A cache V8 cannot
 * use (another Node, other flags, another build of the file) is ignored and the file
 * compiled as usual, so a stale cache costs time, never correctness.
 */
export function requireWithCodeCache(file: string, options = nodeOptionsOf(process)): unknown {
  return loadWithCodeCache(file, options).exports
}

/**
 * requireWithCodeCache, telling which cache it read and whether V8 refused it (undefined:
 * there was none): the cache made under these options, else the one made under none.
 */
export function loadWithCodeCache(file: string, options: readonly string[]): {exports: unknown; cacheFile?: string; cacheRejected?: boolean} {
  const cacheFile = [codeCacheFile(file, options), codeCacheFile(file, [])].find((candidate) => existsSync(candidate))
  const {exports, script} = load(file, cacheFile ? readFileSync(cacheFile) : undefined)
  return {exports, cacheFile, cacheRejected: cacheFile ? script.cachedDataRejected : undefined}
}

/** For the build: loads the file and writes its code cache for these options, the ones this process runs with (after loading, so the functions it ran are in it). */
export function writeCodeCache(file: string, options: readonly string[]): string {
  const cacheFile = codeCacheFile(file, options)
  writeFileSync(cacheFile, load(file, undefined).script.createCachedData())
  return cacheFile
}

/**
 * Where the code cache of `file` made under these options is: V8 takes a cache only
 * under the flags it was made with, and `dns serve`'s workers run with their own
 * (src/dns/worker-memory.ts), so they get a cache of their own. Without options, the
 * file beside the bundle (`etcd3.v8-cache`); with some, one named by their digest.
 */
export function codeCacheFile(file: string, options: readonly string[]): string {
  const base = file.replace(/\.c?js$/, '')
  if (!options.length) return `${base}.v8-cache`
  return `${base}.${fnv1a([...options].sort().join('\n'))}.v8-cache`
}

/** A short digest of a text (FNV-1a, 32 bits, hex): names a file, guards nothing (V8 checks the cache itself). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return (hash >>> 0).toString(16).padStart(8, '0')
}

/** Node's options for a process: its command line's and NODE_OPTIONS', each spelled with dashes. */
export function nodeOptionsOf(proc: {execArgv: readonly string[]; env: NodeJS.ProcessEnv}): string[] {
  const given = [...proc.execArgv, ...(proc.env.NODE_OPTIONS ?? '').split(/\s+/)].filter(Boolean)
  return given.map((option) => option.replace(/^(--[^=]*)/, (name) => name.replaceAll('_', '-')))
}

function load(relativeOrAbsolute: string, cachedData: Buffer | undefined): {exports: unknown; script: Script} {
  const file = resolve(relativeOrAbsolute)
  // Node's own CommonJS wrapper, so the file sees exports, require, module and its paths as usual.
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`
  const script = new Script(wrapped, {filename: file, cachedData})
  const module = {exports: {} as unknown}
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: {exports: unknown}, filename: string, dirname: string) => void
  run(module.exports, createRequire(file), module, file, dirname(file))
  return {exports: module.exports, script}
}
