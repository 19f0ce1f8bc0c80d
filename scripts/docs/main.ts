/**
 * `npm run docs`: writes docs/reference.md from the built commands (oclif.manifest.json).
 * `npm run docs -- --check` (run by `npm test`): fails when the committed reference is
 * not what the code gives now, or when another docs check fails. No etcd, no network.
 */
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {brokenLinks, readIfExists, readSources, shapeProblems, undocumentedVariables, unitProblems, unlinkedPages} from './checks.js'
import {OTHER_ENVIRONMENT} from './environment.js'
import {ERROR_SHAPE, JSON_SHAPES} from './json-shapes.js'
import {readManifest, readTopics} from './manifest.js'
import {renderReference} from './reference.js'

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const at = (path: string) => join(root, path)
const REFERENCE = 'docs/reference.md'

const manifest = readManifest(at('oclif.manifest.json'))
const reference = renderReference({manifest, topics: readTopics(at('package.json')), shapes: JSON_SHAPES, errorShape: ERROR_SHAPE, otherEnvironment: OTHER_ENVIRONMENT})

if (!process.argv.includes('--check')) {
  writeFileSync(at(REFERENCE), reference)
  console.log(`wrote ${REFERENCE}`)
  process.exit(0)
}

const problems: string[] = []
if (readIfExists(at(REFERENCE)) !== reference) problems.push(`${REFERENCE} is out of date: run \`npm run docs\` and commit it`)
problems.push(...shapeProblems(manifest, JSON_SHAPES))

const pages = readdirSync(at('docs'))
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => `docs/${f}`)
const readme = readFileSync(at('README.md'), 'utf8')
problems.push(...unlinkedPages(readme, pages))
const read = (path: string) => readIfExists(at(path))
for (const file of ['README.md', 'CONTRIBUTING.md', 'contrib/README.md', ...pages]) {
  const text = read(file)
  if (text !== undefined) problems.push(...brokenLinks(file, text, read))
}

const unitDir = 'contrib/systemd'
const units = Object.fromEntries(
  readdirSync(at(unitDir))
    .filter((f) => f.endsWith('.service'))
    .map((f) => [`${unitDir}/${f}`, readFileSync(at(`${unitDir}/${f}`), 'utf8')]),
)
problems.push(...unitProblems(manifest, units, {name: `${unitDir}/cnet.env.example`, text: readFileSync(at(`${unitDir}/cnet.env.example`), 'utf8')}))
problems.push(...undocumentedVariables({...readSources(root, 'src'), ...readSources(root, 'bin')}, manifest, OTHER_ENVIRONMENT))

if (problems.length > 0) {
  for (const problem of problems) console.error(`docs: ${problem}`)
  process.exit(1)
}
console.log(`docs: ${REFERENCE} is up to date; README links every page of docs/; links, JSON shapes, units and variables check out`)
