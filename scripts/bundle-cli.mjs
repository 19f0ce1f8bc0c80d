// For the build: the CLI as one CommonJS file, dist/bundle/cli.cjs. oclif and every
// command's code in one file that bin/run.js loads with V8's code cache, where Node
// otherwise resolves, reads and compiles some two hundred ES modules on each call.
//
// - Each command's module runs only when its command does (a getter per id in COMMANDS).
// - Each module's import.meta.url stays the URL of its own file under dist/, so a module
//   that finds a file beside itself (the worker entry, the etcd client bundle, bin/) finds
//   the same one as unbundled. dist/ stays complete: dns serve's workers and the tests
//   load its modules as they are.
import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {build} from 'esbuild'

const root = new URL('..', import.meta.url).pathname
const dist = join(root, 'dist')
const bundleDir = join(dist, 'bundle')
const entry = join(bundleDir, 'entry.cjs')
/** What a module's import.meta.url becomes: the URL of its own file under dist/, found from where the bundle is at run time (by a name no module shadows, as some do `require`). */
const OWN_URL = '__cnetModuleUrl'
const ownUrlHelper = `var ${OWN_URL} = (file) => require("node:url").pathToFileURL(require("node:path").join(__dirname, file)).href;`
/**
 * Every import() in the bundle calls this instead: loaded with its code cache, the file is
 * a vm script whose own import() fails (src/lib/code-cache.ts says why), so it takes the
 * loader's; loaded by plain require, there is none and import() is Node's own.
 */
const IMPORT = '__cnetImport'
const {IMPORT_PARAMETER} = await import('../dist/lib/code-cache.js')
const importHelper = `var ${IMPORT} = typeof ${IMPORT_PARAMETER} === "function" ? ${IMPORT_PARAMETER} : (specifier) => import(specifier);`
/** The bundle's first lines: both helpers, before any module's code. */
const banner = `${ownUrlHelper}\n${importHelper}`
/** A call of import() in the bundle's code: not a word's tail, a property, or text in quotes. */
const IMPORT_CALL = /(?<![\w$.'"`])import\(/g
/**
 * The raw non-ASCII characters esbuild leaves in the bundle's regular expressions (it
 * escapes every other one it can), each in its context and as an escape that means the
 * same there: an all-ASCII bundle is read faster (src/lib/code-cache.ts). Each is named,
 * not searched for, because in a tagged template an escape would change the raw text.
 * The bundle's test checks that the bundle is ASCII.
 */
const RAW_IN_REGEX = [
  // ansis' strip(): ESC or CSI, then a control sequence.
  {raw: '/[\u001b\u009b][[()#;?]*', escaped: '/[\u001b\\u009b][[()#;?]*'},
]

/** Every command file under dist/commands with its oclif id (`svc/resolve.js` -> `svc:resolve`, `lab/index.js` -> `lab`). */
function commandFiles(dir = join(dist, 'commands')) {
  return readdirSync(dir, {withFileTypes: true, recursive: true})
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .map((file) => ({file, id: relative(join(dist, 'commands'), file).replace(/\.js$/, '').replace(/(^|\/)index$/, '').split('/').join(':')}))
    .sort((a, b) => a.id.localeCompare(b.id))
}

const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
// One file per hook event: bundledOclif (src/cli/launch.ts) names one export per event.
for (const [event, target] of Object.entries(pjson.oclif.hooks ?? {})) {
  if (typeof target !== 'string') throw new Error(`package.json oclif.hooks.${event}: the CLI bundle takes one file per event, not ${JSON.stringify(target)}`)
}
const {hookIdentifier} = await import('../dist/cli/launch.js')
const requireOf = (file) => `require(${JSON.stringify('./' + relative(bundleDir, file))})`
const lazy = (name, file) => `  get ${JSON.stringify(name)}() { return ${requireOf(file)}.default },`
// A command module that awaits at its top (the autocomplete commands, which are oclif's
// plugin's own) cannot be part of a CommonJS file: its id gets a class that imports the
// module from dist/ when the command runs, and runs its class (help reads the manifest).
const awaits = (file) => /^export default await /m.test(readFileSync(file, 'utf8'))
const fileUrlOf = (file) => `${OWN_URL}(${JSON.stringify(relative(bundleDir, file))})`
const imported = (name, file) =>
  `  get ${JSON.stringify(name)}() { return class { static async run(argv, config) { return (await ${IMPORT}(${fileUrlOf(file)})).default.run(argv, config) } } },`
const source = [
  '// Written by scripts/bundle-cli.mjs: the bundle\'s entry.',
  `exports.runBundled = ${requireOf(join(dist, 'cli/launch.js'))}.runBundled`,
  // For the build's warm-up (scripts/warm-up-cli.mjs): the caches of what the bundle's own loader loaded (the etcd client).
  `exports.writeLoadedCodeCaches = ${requireOf(join(dist, 'lib/code-cache.js'))}.writeLoadedCodeCaches`,
  'exports.COMMANDS = {',
  ...commandFiles().map(({file, id}) => (awaits(file) ? imported(id, file) : lazy(id, file))),
  '}',
  `Object.defineProperty(exports, 'Help', {enumerable: true, get: () => ${requireOf(join(dist, 'cli/help.js'))}.default})`,
  ...Object.entries(pjson.oclif.hooks ?? {}).map(
    ([event, target]) => `Object.defineProperty(exports, ${JSON.stringify(hookIdentifier(event))}, {enumerable: true, get: () => ${requireOf(join(root, target))}.default})`,
  ),
  '',
].join('\n')
mkdirSync(bundleDir, {recursive: true})
writeFileSync(entry, source)

/** Rewrites import.meta.url in each module of dist/ that reads it. */
const ownUrl = {
  name: 'own-import-meta-url',
  setup(builder) {
    builder.onLoad({filter: /\/dist\/.*\.js$/}, (args) => {
      const contents = readFileSync(args.path, 'utf8')
      if (!contents.includes('import.meta.url')) return undefined
      const own = JSON.stringify(relative(bundleDir, args.path))
      return {contents: contents.replaceAll('import.meta.url', `${OWN_URL}(${own})`), loader: 'js'}
    })
  },
}

const built = await build({
  entryPoints: [entry],
  outfile: join(bundleDir, 'cli.cjs'),
  write: false,
  bundle: true,
  // Names kept as written: a profile of the CLI reads as the source does.
  minifyWhitespace: true,
  minifySyntax: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  plugins: [ownUrl],
  banner: {js: banner},
  // Loaded only when there is no etcd client bundle, only in development, or only on a
  // terminal's typo: each from its package as before.
  external: ['typescript', 'etcd3', 'etcd3/*', 'cockatiel', '@oclif/plugin-not-found', '@oclif/plugin-autocomplete'],
})
const [output] = built.outputFiles
if (!output.text.startsWith(banner)) throw new Error('the CLI bundle does not start with its banner')
const code = RAW_IN_REGEX.reduce((text, {raw, escaped}) => text.replaceAll(raw, escaped), output.text.slice(banner.length).replace(IMPORT_CALL, `${IMPORT}(`))
writeFileSync(output.path, banner + code)

// bin/run.js is CommonJS (an ES module entry costs each call the module loader's start),
// so it loads the bundle through a CommonJS copy of dist/lib/code-cache.js.
await build({
  entryPoints: [join(dist, 'lib/code-cache.js')],
  outfile: join(bundleDir, 'code-cache.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
})
