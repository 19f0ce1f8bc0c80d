import {isAscii} from 'node:buffer'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {Module, createRequire} from 'node:module'
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

/**
 * For the build: loads the file and writes its code cache for these options, the ones this
 * process runs with. After loading, and after `warm` has run what else the callers will
 * (the CLI bundle's commands), so the functions that ran are in it.
 */
export function writeCodeCache(file: string, options: readonly string[], warm?: (exports: unknown) => void): string {
  const cacheFile = codeCacheFile(file, options)
  const {exports, script} = load(file, undefined)
  warm?.(exports)
  writeFileSync(cacheFile, script.createCachedData())
  return cacheFile
}

/** Every file this module loaded, with its script, for writeLoadedCodeCaches. */
const loadedScripts = new Map<string, Script>()

/**
 * For the build: writes the code cache of every file this module has loaded, under these
 * options, after CLI calls have run (scripts/warm-up-cli.mjs): V8 puts in a cache every
 * function compiled so far, so the calls' own code is in it too, not only what loading ran.
 */
export function writeLoadedCodeCaches(options: readonly string[]): string[] {
  return [...loadedScripts].map(([file, script]) => {
    const cacheFile = codeCacheFile(file, options)
    writeFileSync(cacheFile, script.createCachedData())
    return cacheFile
  })
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

/**
 * What the file gets for import(): V8 takes a vm script's own import() callback from its
 * code cache, where another process left one that no longer exists (Node 20 then fails
 * every import() in the file). This function is in a module Node loaded itself; the CLI
 * bundle calls it (scripts/bundle-cli.mjs), specifiers resolving as from dist/.
 */
const importModule = (specifier: string): Promise<unknown> => import(specifier)

/** The name the file's import() function has in it (scripts/bundle-cli.mjs reads it). */
export const IMPORT_PARAMETER = '__cnetImportModule'

function load(relativeOrAbsolute: string, cachedData: Buffer | undefined): {exports: unknown; script: Script} {
  const file = resolve(relativeOrAbsolute)
  // Node's own CommonJS wrapper, so the file sees exports, require, module and its paths as usual.
  const wrapped = `(function (exports, require, module, __filename, __dirname, ${IMPORT_PARAMETER}) {${readSource(file)}\n})`
  const script = new Script(wrapped, {filename: file, cachedData})
  loadedScripts.set(file, script)
  const require = createRequire(file)
  // In require's cache, as require would put it: a later require() of the file (oclif's, of
  // the CLI bundle that holds its commands) gets these exports instead of a second copy.
  const module = new Module(file) as NodeJS.Module
  module.filename = file
  require.cache[file] = module
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: NodeJS.Module, filename: string, dirname: string, importer: typeof importModule) => void
  try {
    run(module.exports, require, module, file, dirname(file), importModule)
  } catch (error) {
    delete require.cache[file]
    throw error
  }
  module.loaded = true
  return {exports: module.exports, script}
}

/**
 * A file's text. An ASCII file reads the same as Latin-1, one byte a character, which is
 * faster: Node decodes UTF-8 over 1 MB through a two-byte copy. Reading and wrapping the
 * CLI bundle took 13.2 ms (12.2-13.8) and 790 page faults this way, against 18.8 ms
 * (17.9-20.4) and 1,278 as UTF-8 (medians of eleven runs each). The build keeps both
 * bundles ASCII (scripts/bundle-cli.mjs); any other file is read as UTF-8.
 */
function readSource(file: string): string {
  const bytes = readFileSync(file)
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')
}
