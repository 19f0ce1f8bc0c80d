/**
 * Checks that keep the docs honest, each returning one line per problem:
 * every docs page reachable from the README, links between pages that resolve, a JSON
 * shape for every command with --json, systemd units that name real commands and
 * flags, and every CNET_* variable the code reads documented.
 */
import {existsSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import type {EnvironmentVariable} from './environment.js'
import type {CommandJson} from './json-shapes.js'
import {type Manifest, hasJson, spaced, visibleCommands} from './manifest.js'
import {anchor} from './reference.js'

/** Every docs/*.md linked from the README (directly). */
export function unlinkedPages(readme: string, pages: string[]): string[] {
  const linked = new Set([...readme.matchAll(/\]\((docs\/[^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]))
  return pages.filter((p) => !linked.has(p)).map((p) => `README.md does not link to ${p}`)
}

/** The anchors a Markdown file's headings give (GitHub's rule; a repeated heading gets -1, -2, ...). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const counts = new Map<string, number>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line)
    if (!heading) continue
    const base = anchor(heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'))
    const seen = counts.get(base) ?? 0
    anchors.add(seen === 0 ? base : `${base}-${seen}`)
    counts.set(base, seen + 1)
  }
  return anchors
}

/** Relative links in `file` (Markdown) whose target file or heading does not exist. */
export function brokenLinks(file: string, markdown: string, read: (path: string) => string | undefined): string[] {
  const problems: string[] = []
  const text = markdown.replace(/```[\s\S]*?```/g, '')
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]
    if (/^[a-z]+:/.test(target)) continue
    const [path, hash] = target.split('#')
    const targetFile = path === '' ? file : join(dirname(file), path)
    const content = read(targetFile)
    if (content === undefined) {
      problems.push(`${file}: link to ${target}: no such file`)
      continue
    }
    if (hash && targetFile.endsWith('.md') && !headingAnchors(content).has(hash)) problems.push(`${file}: link to ${target}: no such heading`)
  }
  return problems
}

/** Commands with --json and no documented shape, and shapes of commands that do not exist or have no --json. */
export function shapeProblems(manifest: Manifest, shapes: Record<string, CommandJson>): string[] {
  const withJson = new Set(visibleCommands(manifest).filter(hasJson).map((c) => spaced(c.id)))
  return [
    ...[...withJson].filter((id) => !shapes[id]).map((id) => `cnet ${id} has --json but no shape in scripts/docs/json-shapes.ts`),
    ...Object.keys(shapes)
      .filter((id) => !withJson.has(id))
      .map((id) => `scripts/docs/json-shapes.ts: cnet ${id} is not a command with --json`),
  ]
}

/**
 * Every `cnet ...` command line of a systemd unit: the command exists and takes each
 * flag given; every CNET_* variable an environment file sets is one cnet reads, or a
 * *_FLAGS variable a unit expands (whose flags are checked against that unit's command).
 */
export function unitProblems(manifest: Manifest, units: Record<string, string>, envFile: {name: string; text: string}): string[] {
  const problems: string[] = []
  const flagsVariables = new Map<string, string>()
  for (const [name, text] of Object.entries(units)) {
    for (const m of text.matchAll(/^ExecStart=\S*\bcnet\s+(.*)$/gm)) {
      const words = m[1].trim().split(/\s+/)
      const found = commandOf(manifest, words)
      if (!found) {
        problems.push(`${name}: ExecStart runs "cnet ${m[1].trim()}", which is no cnet command`)
        continue
      }
      const {command, length} = found
      for (const word of words.slice(length)) {
        const variable = /^\$\{?(\w+)\}?$/.exec(word)
        if (variable) flagsVariables.set(variable[1], command)
        else if (word.startsWith('--') && !takesFlag(manifest, command, word)) problems.push(`${name}: cnet ${spaced(command)} has no flag ${word.split('=')[0]}`)
      }
    }
  }
  const envVariables = new Set(visibleCommands(manifest).flatMap((c) => Object.values(c.flags).map((f) => f.env).filter((e): e is string => Boolean(e))))
  for (const m of envFile.text.matchAll(/^#?\s*(CNET_\w+)=(.*)$/gm)) {
    const [, variable, value] = m
    const command = flagsVariables.get(variable)
    if (command) {
      for (const word of value.split(/\s+/).filter((w) => w.startsWith('--'))) if (!takesFlag(manifest, command, word)) problems.push(`${envFile.name}: ${variable}: cnet ${spaced(command)} has no flag ${word.split('=')[0]}`)
    } else if (!envVariables.has(variable)) {
      problems.push(`${envFile.name}: ${variable} is neither a variable cnet reads nor a *_FLAGS variable of a unit`)
    }
  }
  return problems
}

/** The command id a command line starts with (through aliases: `overlay up` is `vxlan up`), and how many words name it. */
function commandOf(manifest: Manifest, words: string[]): {command: string; length: number} | undefined {
  const aliases = new Map(visibleCommands(manifest).flatMap((c) => (c.aliases ?? []).map((alias) => [alias, c.id] as const)))
  for (let n = Math.min(words.length, 3); n > 0; n--) {
    const id = words.slice(0, n).join(':')
    if (manifest.commands[id] && !manifest.commands[id].hidden) return {command: id, length: n}
    const aliased = aliases.get(id)
    if (aliased) return {command: aliased, length: n}
  }
  return undefined
}

function takesFlag(manifest: Manifest, command: string, word: string): boolean {
  const name = word.replace(/^--(no-)?/, '').split('=')[0]
  const flag = manifest.commands[command]?.flags[name]
  return Boolean(flag && (!word.startsWith('--no-') || flag.allowNo))
}

/** CNET_* variables the code reads (`env.CNET_X`, `'CNET_X'`) that the reference does not document. */
export function undocumentedVariables(sources: Record<string, string>, manifest: Manifest, other: EnvironmentVariable[]): string[] {
  const documented = new Set([
    ...visibleCommands(manifest).flatMap((c) => Object.values(c.flags).map((f) => f.env)),
    ...other.flatMap((v) => v.name.split(/,\s*/)),
  ])
  const problems: string[] = []
  for (const [file, text] of Object.entries(sources)) {
    for (const m of text.matchAll(/(?:env\.|env\[['"`]|['"`])(CNET_[A-Z0-9_]+)\b/g)) {
      if (!documented.has(m[1])) problems.push(`${file}: reads ${m[1]}, which docs/reference.md does not list (add it to scripts/docs/environment.ts)`)
    }
  }
  return [...new Set(problems)]
}

/** Every *.ts file under a directory, by path relative to `root`. */
export function readSources(root: string, dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (/\.(ts|js|cjs)$/.test(name)) out[relative(root, path)] = readFileSync(path, 'utf8')
    }
  }
  walk(resolve(root, dir))
  return out
}

/** A file's text, or undefined when it does not exist. */
export const readIfExists = (path: string): string | undefined => (existsSync(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : existsSync(path) ? '' : undefined)
