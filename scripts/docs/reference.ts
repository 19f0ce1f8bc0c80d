/**
 * docs/reference.md, made from the commands themselves (oclif.manifest.json), the exit
 * codes (src/lib/errors.ts), and the JSON shapes the tests check (json-shapes.ts).
 * Pure: the same inputs give the same text, so CI can compare it with the committed file.
 */
import {ERROR_CODES} from '../../src/cli/failure.js'
import {usageLine} from '../../src/cli/help.js'
import {ExitCode, type ExitCodeValue} from '../../src/lib/errors.js'
import type {EnvironmentVariable} from './environment.js'
import type {CommandJson} from './json-shapes.js'
import {type Manifest, type ManifestCommand, type ManifestFlag, type Topic, hasJson, spaced, visibleCommands} from './manifest.js'
import {type Shape, namedShapes, renderBlock, renderInline} from './shape.js'

/** What each exit code means; typed so that a new code cannot go undocumented. */
export const EXIT_MEANINGS: Record<ExitCodeValue, string> = {
  [ExitCode.ok]: 'ok',
  [ExitCode.failure]: 'the command ran and failed: a lab proof, no healthy instance, a port that cannot be bound, `health check` warning',
  [ExitCode.usage]: 'a flag, argument or command that is not allowed (the message names it); `health check`: critical',
  [ExitCode.config]: 'the network config or a file is missing or invalid, something named does not exist, or etcd refused the credentials',
  [ExitCode.storeUnavailable]: 'etcd could not be reached within the deadline (the message names the endpoints tried)',
  [ExitCode.conflict]: 'exhausted or conflict: out of subnets, or a config, lease or id held by someone else',
  [ExitCode.systemCommand]: 'a system command (`ip`, `bridge`, `iptables-restore`, ...) failed or hung: the message holds the command, its exit code and its stderr',
  [ExitCode.internal]: 'a bug in cnet: run with `--log-level debug` for the stack',
}

export interface ReferenceInput {
  manifest: Manifest
  topics: Topic[]
  shapes: Record<string, CommandJson>
  errorShape: Shape
  otherEnvironment: EnvironmentVariable[]
}

const BIN = 'cnet'
const GLOBAL = 'GLOBAL'

/** GitHub's anchor for a heading. */
export function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-')
}

const fill = (text: string) => text.replaceAll('<%= config.bin %>', BIN).replaceAll('<%= command.id %>', BIN)

/**
 * Prose from a command's help text as Markdown: code spans kept, words with placeholders
 * (`<name>.<namespace>.svc.<zone>`) made code spans, the rest escaped.
 */
export function prose(text: string, inTable = false): string {
  return fill(text)
    .replace(/(^|[\s(])([^\s`(]*<[^>\s]+>[^\s`,;)]*?)(?=[.,;:)]*(\s|$))/g, '$1`$2`')
    .split(/(`[^`]*`)/)
    .map((part, i) => {
      if (i % 2 === 1) return inTable ? part.replaceAll('|', '\\|') : part
      const escaped = part.replace(/([\\*_])/g, '\\$1').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
      return inTable ? escaped.replaceAll('|', '\\|').replace(/\n+/g, ' ') : escaped
    })
    .join('')
}

const code = (text: string) => `\`${text.replaceAll('|', '\\|')}\``

function flagName(flag: ManifestFlag): string {
  const long = flag.type === 'boolean' && flag.allowNo ? `--[no-]${flag.name}` : `--${flag.name}`
  const named = flag.type === 'option' ? `${long} <value>` : long
  return flag.char ? `-${flag.char}, ${named}` : named
}

/** A description that more is added to after a semicolon: without its closing period. */
const clause = (text: string) => text.replace(/\.$/, '')

function flagMeaning(flag: ManifestFlag): string {
  const parts = [prose(clause(flag.description ?? ''), true)]
  if (flag.options) parts.push(`one of ${flag.options.map((o) => code(o)).join(', ')}`)
  if (flag.multiple && !/repeatable/.test(flag.description ?? '')) parts.push('repeatable')
  if (flag.required) parts.push('required')
  if (flag.dependsOn?.length) parts.push(`needs ${flag.dependsOn.map((f) => code(`--${f}`)).join(', ')}`)
  if (flag.exclusive?.length) parts.push(`not with ${flag.exclusive.map((f) => code(`--${f}`)).join(', ')}`)
  return parts.filter(Boolean).join('; ')
}

function flagDefault(flag: ManifestFlag): string {
  if (flag.default === undefined || flag.default === false) return ''
  return code(Array.isArray(flag.default) ? flag.default.join(',') : String(flag.default))
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)]
}

/** The global flags, in the order commands declare them (from the command that has the most). */
function globalFlags(manifest: Manifest): ManifestFlag[] {
  const commands = visibleCommands(manifest)
  const widest = commands.reduce((best, c) => (Object.keys(c.flags).length && countGlobal(c) > countGlobal(best) ? c : best), commands[0])
  return Object.values(widest.flags).filter((f) => f.helpGroup === GLOBAL && f.name !== 'json')
}

const countGlobal = (c: ManifestCommand) => Object.values(c.flags).filter((f) => f.helpGroup === GLOBAL).length

function globalFlagsLine(command: ManifestCommand, all: ManifestFlag[]): string {
  const taken = all.filter((f) => f.name in command.flags)
  if (taken.length === all.length) return 'Takes every [global flag](#global-flags).'
  if (taken.length === 0) return 'Takes no global flag.'
  return `Takes only these [global flags](#global-flags): ${taken.map((f) => code(`--${f.name}`)).join(', ')}.`
}

function commandSection(command: ManifestCommand, input: ReferenceInput, all: ManifestFlag[]): string[] {
  const id = spaced(command.id)
  const out = [`### \`${BIN} ${id}\``, '']
  if (command.summary) out.push(prose(command.summary), '')
  out.push('```', fill(usageLine(command as never)).replace(/^cnet/, `${BIN} ${id}`), '```', '')
  if (command.description && command.description !== command.summary) out.push(prose(command.description), '')
  if (command.aliases?.length) out.push(`Also: ${command.aliases.map((a) => code(`${BIN} ${spaced(a)}`)).join(', ')}.`, '')

  const args = Object.values(command.args).filter((a) => !a.hidden)
  if (args.length > 0) {
    const rows = args.map((a) => [code(a.name.toUpperCase()), [prose(clause(a.description ?? ''), true), a.options ? `one of ${a.options.map((o) => code(o)).join(', ')}` : '', a.required ? 'required' : 'optional'].filter(Boolean).join('; ')])
    out.push(...table(['argument', 'meaning'], rows), '')
  }
  const own = Object.values(command.flags).filter((f) => f.helpGroup !== GLOBAL && !f.hidden)
  if (own.length > 0) {
    const rows = own.map((f) => [code(flagName(f)), f.env ? code(f.env) : '', flagDefault(f), flagMeaning(f)])
    out.push(...table(['flag', 'env', 'default', 'meaning'], rows), '')
  }
  if (command.id !== 'help' && !command.id.startsWith('autocomplete')) out.push(globalFlagsLine(command, all), '')

  // oclif's own plugins write their examples as shell prompts ($ cnet ...); ours are commands.
  const examples = (command.examples ?? []).map((e) => fill(typeof e === 'string' ? e : e.command).replace(/^\$ /, ''))
  if (examples.length > 0) out.push('Examples:', '', '```sh', ...examples, '```', '')

  out.push(...jsonSection(command, input))
  return out
}

function jsonSection(command: ManifestCommand, input: ReferenceInput): string[] {
  if (!hasJson(command)) return []
  const json = input.shapes[spaced(command.id)]
  // The docs check reports the missing shape; the rest of the reference is still useful.
  if (!json) return ['With `--json`: not documented yet.', '']
  const out: string[] = []
  if (json.outputs.length === 0) out.push(`With \`--json\`: ${json.note ?? 'no document.'}`, '')
  for (const output of json.outputs) {
    const what = output.lines ? 'one JSON document per line' : 'one JSON document'
    out.push(`With \`--json\`${output.when ? prose(output.when) : ''}: ${what},`, '', '```ts', renderTop(output.shape), '```', '')
  }
  if (json.outputs.length > 0 && json.note) out.push(prose(json.note), '')
  const types = new Map<string, Shape>()
  for (const output of json.outputs) for (const [name, shape] of namedShapes(output.shape)) types.set(name, shape)
  if (types.size > 0) out.push(`Types: ${[...types.keys()].map((name) => `[\`${name}\`](#${anchor(name)})`).join(', ')}.`, '')
  return out
}

/** A command's shape: a named one (or a list of them) by its name, documented under JSON types; others in full. */
function renderTop(shape: Shape): string {
  if (shape.kind === 'named' || (shape.kind === 'array' && shape.of.kind === 'named')) return renderInline(shape)
  return renderBlock(shape)
}

function environmentSection(input: ReferenceInput): string[] {
  const byVariable = new Map<string, {flag: string; global: boolean; commands: Set<string>}>()
  for (const command of visibleCommands(input.manifest)) {
    for (const flag of Object.values(command.flags)) {
      if (!flag.env) continue
      const entry = byVariable.get(flag.env) ?? {flag: `--${flag.name}`, global: flag.helpGroup === GLOBAL, commands: new Set<string>()}
      entry.commands.add(spaced(command.id))
      byVariable.set(flag.env, entry)
    }
  }
  const rows = [...byVariable.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, e]) => [code(name), code(e.flag), e.global ? '[global](#global-flags)' : [...e.commands].map((c) => code(c)).join(', ')])
  const other = input.otherEnvironment.filter((v) => !v.internal).map((v) => [code(v.name), prose(v.meaning, true)])
  const internal = input.otherEnvironment.filter((v) => v.internal).map((v) => [code(v.name), prose(v.meaning, true)])
  return [
    '## Environment variables',
    '',
    'Every flag that has a variable takes its value from it when the flag is not given (the flag wins):',
    '',
    ...table(['variable', 'flag', 'commands'], rows),
    '',
    'Read as well:',
    '',
    ...table(['variable', 'meaning'], other),
    '',
    'Set by cnet itself or by its tests, never needed in use:',
    '',
    ...table(['variable', 'meaning'], internal),
    '',
  ]
}

export function renderReference(input: ReferenceInput): string {
  const commands = visibleCommands(input.manifest)
  const all = globalFlags(input.manifest)
  const topicOf = (c: ManifestCommand) => (c.id.includes(':') ? c.id.split(':')[0] : undefined)
  const known = new Set(input.topics.map((t) => t.name))
  const groups: {title: string; description?: string; commands: ManifestCommand[]}[] = [
    ...input.topics.map((t) => ({title: `\`${BIN} ${t.name}\``, description: t.description, commands: commands.filter((c) => c.id === t.name || topicOf(c) === t.name)})),
    {title: 'Other commands', commands: commands.filter((c) => !known.has(c.id) && !known.has(topicOf(c) ?? ''))},
  ].filter((g) => g.commands.length > 0)

  const out: string[] = [
    '<!-- Generated by `npm run docs` (scripts/docs/) from oclif.manifest.json, src/lib/errors.ts and scripts/docs/json-shapes.ts: do not edit by hand. -->',
    '',
    '# Command reference',
    '',
    `Every command of cnet ${input.manifest.version}, made from the commands themselves: what \`cnet help COMMAND\``,
    'prints, plus the environment variables, the exit codes and the `--json` shapes, which the',
    'integration and end-to-end tests check against real output. How the CLI behaves in',
    'general (help, errors, tables, logs, completion): [cli.md](cli.md).',
    '',
    '- [Global flags](#global-flags)',
    '- [Environment variables](#environment-variables)',
    '- [Exit codes and errors](#exit-codes-and-errors)',
    '- [JSON output](#json-output)',
    ...groups.map((g) => `- [${g.title}](#${anchor(g.title)}): ${g.commands.map((c) => `[${spaced(c.id)}](#${anchor(`${BIN} ${spaced(c.id)}`)})`).join(', ')}`),
    '- [JSON types](#json-types)',
    '',
    '## Global flags',
    '',
    'Every command that talks to etcd takes these; `cni` and `cni install` take only the two log flags.',
    '',
    ...table(
      ['flag', 'env', 'default', 'meaning'],
      all.map((f) => [code(flagName(f)), f.env ? code(f.env) : '', flagDefault(f), flagMeaning(f)]),
    ),
    '',
    'And on every command: `--json` (the result as one JSON document on stdout, see [JSON output](#json-output)),',
    '`-h`/`--help`. `--etcd-endpoints` takes several endpoints, comma-separated; with `https://` endpoints',
    'the TLS files apply.',
    '',
    ...environmentSection(input),
    '## Exit codes and errors',
    '',
    'A failure is one line on stderr, `cnet: <what> (<what to do>)`, and an exit code. With `--json`,',
    'stdout holds the error document instead of the result; with `--log-format json` the stderr line is',
    'a JSON log record. `svc list --json` writes each service as it is listed: when it fails after writing',
    'some, stdout is left cut short (not valid JSON) and the error goes to stderr alone.',
    '',
    ...table(
      ['exit', '`code` in `--json`', 'meaning'],
      Object.values(ExitCode).map((c) => [String(c), c === ExitCode.ok ? '' : code(ERROR_CODES[c] ?? ''), prose(EXIT_MEANINGS[c], true)]),
    ),
    '',
    'With `--json`, a failure prints:',
    '',
    '```ts',
    renderBlock(input.errorShape),
    '```',
    '',
    'Long-running commands (`--keep`, `--watch`, `serve`, `run`, `svc register --lease-ttl`,',
    '`svc watch`) stop on SIGTERM or SIGINT, finish what they are doing and exit 0; a stop that',
    'takes longer than 15 s is told and exits 1; a second signal exits at once (130).',
    '',
    '## JSON output',
    '',
    'With `--json` a command prints one JSON document on stdout (pretty-printed) and nothing else',
    'there; logs and warnings stay on stderr. The shapes below are written as TypeScript types:',
    '`?` marks a field that some documents leave out, `|` the values a field can take.',
    '',
  ]
  for (const group of groups) {
    out.push(`## ${group.title}`, '')
    if (group.description) out.push(`${prose(group.description[0].toUpperCase() + group.description.slice(1))}.`, '')
    for (const command of group.commands) out.push(...commandSection(command, input, all))
  }
  out.push('## JSON types', '', 'Shapes used by more than one command, or nested in one.', '')
  const types = new Map<string, Shape>()
  for (const json of Object.values(input.shapes)) for (const output of json.outputs) for (const [name, shape] of namedShapes(output.shape)) if (!types.has(name)) types.set(name, shape)
  for (const [name, shape] of [...types.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`### ${name}`, '', '```ts', renderBlock(shape), '```', '')
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n'
}
