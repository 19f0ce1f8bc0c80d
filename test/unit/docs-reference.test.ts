import {describe, expect, it} from '@jest/globals'
import {brokenLinks, headingAnchors, shapeProblems, undocumentedVariables, unitProblems, unlinkedPages} from '../../scripts/docs/checks.js'
import type {CommandJson} from '../../scripts/docs/json-shapes.js'
import type {Manifest, ManifestFlag} from '../../scripts/docs/manifest.js'
import {anchor, prose, renderReference} from '../../scripts/docs/reference.js'
import {named, num, object, oneOf, optional, str} from '../../scripts/docs/shape.js'

const global = (name: string, env: string, extra: Partial<ManifestFlag> = {}): ManifestFlag => ({name, type: 'option', env, helpGroup: 'GLOBAL', description: name, ...extra})
const globals = {
  json: {name: 'json', type: 'boolean', helpGroup: 'GLOBAL', description: 'Format output as json.'} as ManifestFlag,
  'etcd-endpoints': global('etcd-endpoints', 'CNET_ETCD_ENDPOINTS', {default: 'http://127.0.0.1:2379'}),
  'log-level': global('log-level', 'CNET_LOG_LEVEL', {default: 'info', options: ['debug', 'info']}),
}

const manifest: Manifest = {
  version: '9.9.9',
  commands: {
    'subnet:lease': {
      id: 'subnet:lease',
      summary: "Acquire this host's subnet",
      description: 'Writes <dir>/subnet.env; see `cnet subnet list`.',
      examples: ['<%= config.bin %> subnet lease --iface eth0'],
      args: {},
      flags: {
        ...globals,
        keep: {name: 'keep', type: 'boolean', description: 'stay in the foreground'},
        'release-on-exit': {name: 'release-on-exit', type: 'boolean', description: 'free it on exit', dependsOn: ['keep']},
        'subnet-file': {name: 'subnet-file', type: 'option', description: 'where to write it', env: 'CNET_SUBNET_FILE', default: '/run/cnet/subnet.env'},
        protocol: {name: 'protocol', type: 'option', description: 'a | b', options: ['tcp', 'udp'], multiple: true},
      },
    },
    'subnet:show': {id: 'subnet:show', summary: 'Show one lease', aliases: ['lease:show'], args: {subnet: {name: 'subnet', description: 'the subnet', required: true}}, flags: {...globals}},
    cni: {id: 'cni', summary: 'The CNI plugin', args: {}, flags: {'log-level': globals['log-level']}},
    'autocomplete:create': {id: 'autocomplete:create', hidden: true, args: {}, flags: {}},
  },
}

const row = named('Row', object({subnet: str, expires: optional(num, 'not for a reservation')}))
const shapes: Record<string, CommandJson> = {
  'subnet lease': {checkedBy: 't', outputs: [{name: 'one', shape: object({subnet: str, action: oneOf('created', 'reused')})}], note: 'Printed at once with --keep.'},
  'subnet show': {checkedBy: 't', outputs: [{name: 'one', shape: row}]},
}

const reference = renderReference({
  manifest,
  topics: [{name: 'subnet', description: "this host's subnet lease"}, {name: 'cni', description: 'the CNI plugin'}],
  shapes,
  errorShape: object({error: object({code: str})}),
  otherEnvironment: [
    {name: 'NO_COLOR', meaning: 'no colour'},
    {name: 'CNET_SECRET_KNOB', meaning: 'for tests', internal: true},
  ],
})

describe('the generated command reference', () => {
  it('has a section per visible command under its topic, in the topics order, and none for hidden ones', () => {
    const headings = reference.split('\n').filter((l) => l.startsWith('## ') || l.startsWith('### '))
    expect(headings).toEqual([
      '## Global flags',
      '## Environment variables',
      '## Exit codes and errors',
      '## JSON output',
      '## `cnet subnet`',
      '### `cnet subnet lease`',
      '### `cnet subnet show`',
      '## `cnet cni`',
      '### `cnet cni`',
      '## JSON types',
      '### Row',
    ])
  })

  it('gives each command its usage, flags with env, default, choices and dependencies, and examples', () => {
    expect(reference).toContain('```\ncnet subnet lease [FLAGS]\n```')
    expect(reference).toContain('```\ncnet subnet show SUBNET [FLAGS]\n```')
    expect(reference).toContain('| `--subnet-file <value>` | `CNET_SUBNET_FILE` | `/run/cnet/subnet.env` | where to write it |')
    expect(reference).toContain('| `--release-on-exit` |  |  | free it on exit; needs `--keep` |')
    expect(reference).toContain('| `--protocol <value>` |  |  | a \\| b; one of `tcp`, `udp`; repeatable |')
    expect(reference).toContain('| `SUBNET` | the subnet; required |')
    expect(reference).toContain('```sh\ncnet subnet lease --iface eth0\n```')
    expect(reference).toContain('Writes `<dir>/subnet.env`; see `cnet subnet list`.')
  })

  it('says which global flags a command takes', () => {
    expect(reference).toContain('Takes every [global flag](#global-flags).')
    expect(reference).toContain('Takes only these [global flags](#global-flags): `--log-level`.')
  })

  it('lists environment variables from the flags and the others, internal ones apart', () => {
    expect(reference).toContain('| `CNET_SUBNET_FILE` | `--subnet-file` | `subnet lease` |')
    expect(reference).toContain('| `CNET_ETCD_ENDPOINTS` | `--etcd-endpoints` | [global](#global-flags) |')
    expect(reference).toMatch(/Read as well:\n\n\| variable \| meaning \|\n\| --- \| --- \|\n\| `NO_COLOR` \| no colour \|/)
    expect(reference).toMatch(/never needed in use:\n\n\| variable \| meaning \|\n\| --- \| --- \|\n\| `CNET_SECRET_KNOB` \| for tests \|/)
  })

  it('documents every exit code with its JSON error code', () => {
    for (const line of ['| 0 |  | ok |', '| 2 | `UsageError` |', '| 5 | `ConflictError` |', '| 70 | `InternalError` |']) expect(reference).toContain(line)
  })

  it('shows each JSON shape with its note, and a named one by name with a link to its type', () => {
    expect(reference).toContain('```ts\n{\n  subnet: string\n  action: "created" | "reused"\n}\n```\n\nPrinted at once with --keep.')
    expect(reference).toContain('```ts\nRow\n```\n\nTypes: [`Row`](#row).')
    expect(reference).toContain('### Row\n\n```ts\n{\n  subnet: string\n  expires?: number  // not for a reservation\n}\n```')
  })

  it('is the same text every time (CI compares it with the committed file)', () => {
    expect(renderReference({manifest, topics: [{name: 'subnet', description: "this host's subnet lease"}, {name: 'cni', description: 'the CNI plugin'}], shapes, errorShape: object({error: object({code: str})}), otherEnvironment: [{name: 'NO_COLOR', meaning: 'no colour'}, {name: 'CNET_SECRET_KNOB', meaning: 'for tests', internal: true}]})).toBe(reference)
  })

  it.each([
    ['`cnet subnet lease`', 'cnet-subnet-lease'],
    ['Exit codes and errors', 'exit-codes-and-errors'],
    ["What's new: 0.2", 'whats-new-02'],
    ['CNI', 'cni'],
  ])('anchor of %s', (heading, expected) => {
    expect(anchor(heading)).toBe(expected)
  })

  it('escapes Markdown outside code spans only, and makes names with placeholders code', () => {
    expect(prose('a_b * c < d and `a_b <c>`')).toBe('a\\_b \\* c &lt; d and `a_b <c>`')
    expect(prose('serves _<port>._<proto>.<name>, and (<id>.<zone>).')).toBe('serves `_<port>._<proto>.<name>`, and (`<id>.<zone>`).')
    expect(prose('a | b', true)).toBe('a \\| b')
  })
})

describe('docs checks', () => {
  it('finds docs pages the README does not link', () => {
    expect(unlinkedPages('see [DNS](docs/dns.md#names) and [x](docs/cli.md)', ['docs/cli.md', 'docs/dns.md', 'docs/scale.md'])).toEqual(['README.md does not link to docs/scale.md'])
  })

  it('finds links to missing files and headings, outside code blocks', () => {
    const files: Record<string, string> = {'docs/a.md': '# A\n## Two words\n## Two words\n```\n# not a heading\n```\n', 'README.md': ''}
    const read = (path: string) => files[path]
    expect([...headingAnchors(files['docs/a.md'])]).toEqual(['a', 'two-words', 'two-words-1'])
    const text = '[ok](docs/a.md#two-words-1) [gone](docs/b.md) [bad](docs/a.md#three) [web](https://x.org/y) [self](#nowhere)\n```\n[in code](docs/c.md)\n```'
    expect(brokenLinks('README.md', text, read)).toEqual([
      'README.md: link to docs/b.md: no such file',
      'README.md: link to docs/a.md#three: no such heading',
      'README.md: link to #nowhere: no such heading',
    ])
  })

  it('finds commands with --json and no shape, and shapes of no such command', () => {
    expect(shapeProblems(manifest, {'subnet lease': shapes['subnet lease'], 'subnet gone': shapes['subnet show']})).toEqual([
      'cnet subnet show has --json but no shape in scripts/docs/json-shapes.ts',
      'scripts/docs/json-shapes.ts: cnet subnet gone is not a command with --json',
    ])
  })

  it('checks systemd units and their environment file against the commands and flags', () => {
    const units = {
      'a.service': 'ExecStart=/usr/local/bin/cnet subnet lease --keep --no-keep --bogus $CNET_LEASE_FLAGS\n',
      'b.service': 'ExecStart=/usr/local/bin/cnet subnet vanish\n',
      'c.service': 'ExecStart=/usr/local/bin/cnet lease show --json --nope\n',
    }
    const env = 'CNET_ETCD_ENDPOINTS=http://x:2379\nCNET_LEASE_FLAGS=--subnet-file /x --iface eth0\n#CNET_NOTHING=1\n'
    expect(unitProblems(manifest, units, {name: 'cnet.env', text: env})).toEqual([
      'a.service: cnet subnet lease has no flag --no-keep',
      'a.service: cnet subnet lease has no flag --bogus',
      'b.service: ExecStart runs "cnet subnet vanish", which is no cnet command',
      'c.service: cnet subnet show has no flag --nope',
      'cnet.env: CNET_LEASE_FLAGS: cnet subnet lease has no flag --iface',
      'cnet.env: CNET_NOTHING is neither a variable cnet reads nor a *_FLAGS variable of a unit',
    ])
  })

  it('finds CNET_* variables the code reads that the reference does not list', () => {
    const sources = {'src/a.ts': "const a = process.env.CNET_SUBNET_FILE; const b = env.CNET_NEW_KNOB; const c = 'CNET_SECRET_KNOB'; const DEFAULT_CNET_PREFIX = 1"}
    expect(undocumentedVariables(sources, manifest, [{name: 'CNET_SECRET_KNOB', meaning: '', internal: true}])).toEqual([
      'src/a.ts: reads CNET_NEW_KNOB, which docs/reference.md does not list (add it to scripts/docs/environment.ts)',
    ])
  })
})
