import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {type Server, createServer} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {openStore} from '../../src/store/index.js'
import {Keys} from '../../src/store/keys.js'
import type {Store} from '../../src/store/store.js'
import {type CliResult, cliEnv, runCli, runCliOnTty} from '../helpers/cli.js'
import {waitFor} from '../helpers/poll.js'
import {freePort} from '../helpers/ports.js'
import {uniquePrefixes, useEtcd} from '../helpers/shared-etcd.js'

/**
 * The command line as a newcomer meets it: help, typos, errors, tables, records,
 * logs and completion, through the built CLI against a real etcd.
 */
const ROOT = new URL('../../', import.meta.url).pathname
const ANSI = /\x1b\[/
const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {hidden?: boolean}>}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}

/** The lines a terminal showed, without its carriage returns and colour. */
const screenLines = (result: CliResult) => result.stdout.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').trimEnd().split('\n')
const oneLine = (text: string) => {
  const lines = text.trimEnd().split('\n')
  expect(lines).toHaveLength(1)
  return lines[0]
}

async function inBatches<T, R>(items: T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(run))))
  return results
}

describe('the command line: help, typos, errors, tables, records, logs, completion', () => {
  const etcd = useEtcd('cli-experience')
  let store: Store
  beforeAll(async () => {
    store = await openStore({endpoints: [etcd().endpoint]})
  })
  afterAll(async () => store?.close())

  const setup = async (label: string, network?: string) => {
    const prefixes = uniquePrefixes(label)
    const env = cliEnv(etcd().endpoint, prefixes)
    if (network) expect((await runCli(['network', 'init', '--network', network], {env})).exitCode).toBe(0)
    return {prefixes, env, keys: new Keys(prefixes)}
  }

  describe('help and version', () => {
    it('cnet help, help TOPIC, help TOPIC COMMAND', async () => {
      const [root, topic, command] = await Promise.all([runCli(['help']), runCli(['help', 'svc']), runCli(['help', 'svc', 'list'])])
      expect(root).toMatchObject({exitCode: 0, stderr: ''})
      expect(root.stdout).toMatch(/^TOPICS$/m)
      expect(root.stdout).toMatch(/^ {2}subnet +this host's subnet lease/m)
      expect(root.stdout).toMatch(/^ {2}version +/m)
      expect(topic.exitCode).toBe(0)
      expect(topic.stdout).toMatch(/^ {2}svc register +Register one instance/m)
      expect(command.exitCode).toBe(0)
      expect(command.stdout).toMatch(/^ {2}\$ cnet svc list \[NAME\]/m)
      expect(command.stdout).toMatch(/--wide +more columns/)
    })

    it('-h on every command, and on the root and a topic', async () => {
      const ids = Object.entries(manifest.commands)
        .filter(([, c]) => !c.hidden)
        .map(([id]) => id)
      expect(ids.length).toBeGreaterThan(20)
      const runs: string[][] = [['-h'], ['svc', '-h'], ...ids.map((id) => [...id.split(':'), '-h'])]
      const results = await inBatches(runs, 4, async (args) => ({args, result: await runCli(args)}))
      for (const {args, result} of results) {
        expect({args, exitCode: result.exitCode, stderr: result.stderr}).toEqual({args, exitCode: 0, stderr: ''})
        expect(result.stdout).toMatch(/^USAGE$/m)
        if (args.length > 2) expect(result.stdout).toContain(`$ cnet ${args.slice(0, -1).join(' ')}`)
      }
    })

    it('cnet version, and --json', async () => {
      const human = await runCli(['version'])
      expect(human.exitCode).toBe(0)
      expect(human.stdout).toBe(`cnet ${pkg.version} (node ${process.versions.node}, ${process.platform}-${process.arch})\n`)
      const json = await runCli(['version', '--json'])
      expect(JSON.parse(json.stdout)).toEqual({version: pkg.version, node: process.versions.node, platform: process.platform, arch: process.arch})
    })

    it('lists the choices of --strategy and --protocol, and refuses others naming them', async () => {
      expect((await runCli(['svc', 'resolve', '-h'])).stdout).toMatch(/<options: round-robin\|random\|weighted\|hash>/)
      expect((await runCli(['svc', 'register', '-h'])).stdout).toMatch(/<options: tcp\|udp>/)
      const bad = await runCli(['svc', 'register', 'web', '--address', '10.0.0.5', '--port', '80', '--protocol', 'sctp'])
      expect(bad.exitCode).toBe(2)
      expect(oneLine(bad.stderr)).toBe('cnet: Expected --protocol=sctp to be one of: tcp, udp (see cnet svc register --help)')
    })
  })

  describe('typos', () => {
    it('suggests the command meant, in cnet words, on one line (exit 2), and one JSON document with --json', async () => {
      const typo = await runCli(['netwrk', 'show'])
      expect({exitCode: typo.exitCode, stdout: typo.stdout}).toEqual({exitCode: 2, stdout: ''})
      expect(oneLine(typo.stderr)).toBe('cnet: "netwrk show" is not a cnet command (did you mean "network show"? see cnet help)')
      const json = await runCli(['svc', 'regster', 'web', '--json'])
      expect(json.exitCode).toBe(2)
      expect(JSON.parse(json.stdout)).toEqual({error: {code: 'UsageError', message: '"svc regster" is not a cnet command (did you mean "svc register"? see cnet help)', exitCode: 2}})
      const far = await runCli(['deploy'])
      expect(oneLine(far.stderr)).toBe('cnet: "deploy" is not a cnet command (see cnet help)')
      for (const result of [typo, json, far]) expect(result.stderr).not.toMatch(/\w:\w/)
    })

    it('on a terminal, asks "Did you mean" and runs the suggestion on yes', async () => {
      const {env} = await setup('prompt', '10.31.0.0/16')
      const yes = await runCliOnTty(['netwrk', 'show'], {...env, NO_COLOR: '1'}, {input: 'y\r'})
      expect(yes.exitCode).toBe(0)
      expect(yes.stdout).toMatch(/Did you mean network show\?/)
      expect(screenLines(yes)).toContainEqual(expect.stringMatching(/^Network +10\.31\.0\.0\/16$/))
      const no = await runCliOnTty(['netwrk', 'show'], {...env, NO_COLOR: '1'}, {input: 'n\r'})
      expect(no.exitCode).toBe(2)
      expect(screenLines(no).at(-1)).toBe('cnet: "netwrk show" is not a cnet command (see cnet help)')
    })

    it('an extra word after a command is an unexpected argument of that command', async () => {
      const extra = await runCli(['network', 'show', 'extra-arg'])
      expect(extra.exitCode).toBe(2)
      expect(oneLine(extra.stderr)).toBe('cnet: Unexpected argument: extra-arg (see cnet network show --help)')
    })
  })

  describe('errors', () => {
    it("prints oclif's whole parse error on one line, naming the flag or argument, with code UsageError under --json", async () => {
      const cases: [string[], string][] = [
        [['subnet', 'reserve', '10.5.7.0/24'], 'Missing required flag --public-ip (see cnet subnet reserve --help)'],
        [['subnet', 'lease', '--public-ip', '192.168.1.1', '--iface', 'eth0'], '--iface=eth0 cannot also be provided when using --public-ip (see cnet subnet lease --help)'],
        [['lab', 'up', '--nodes', '0'], 'Parsing --nodes: Expected an integer greater than or equal to 1 but received: 0 (see cnet lab up --help)'],
        [['subnet', 'show'], 'Missing 1 required arg: SUBNET (the subnet, e.g. 10.5.52.0/24 (dual stack: either subnet of the lease)) (see cnet subnet show --help)'],
        [['network', 'show', '--log-level', 'loud'], 'Expected --log-level=loud to be one of: debug, info, warn, error (see cnet network show --help)'],
        [['network', 'show', '--bogus'], 'Nonexistent flag: --bogus (see cnet network show --help)'],
      ]
      for (const [args, line] of cases) {
        const text = await runCli(args)
        expect({args, exitCode: text.exitCode, stderr: text.stderr}).toEqual({args, exitCode: 2, stderr: `cnet: ${line}\n`})
        const json = await runCli([...args, '--json'])
        expect(JSON.parse(json.stdout)).toEqual({error: {code: 'UsageError', message: line, exitCode: 2}})
      }
    })

    it('--log-format json: the line that ends a daemon is a JSON record, parse errors too; stdout untouched', async () => {
      const {env} = await setup('fatal')
      const dir = mkdtempSync(join(tmpdir(), 'cnet-fatal-'))
      try {
        // A daemon that cannot start (no network config: exit 3).
        const daemon = await runCli(['subnet', 'lease', '--keep', '--public-ip', '192.168.31.1', '--subnet-file', join(dir, 'subnet.env'), '--log-format', 'json'], {env})
        expect(daemon).toMatchObject({exitCode: 3, stdout: ''})
        expect(JSON.parse(oneLine(daemon.stderr))).toEqual({time: expect.any(String), level: 'error', component: 'cnet', msg: expect.stringMatching(/^network: no config at .* \(create it with: cnet network init --network CIDR\)$/), code: 'ConfigError', exitCode: 3})
        const parse = await runCli(['network', 'show', '--bogus'], {env: {...env, CNET_LOG_FORMAT: 'json'}})
        expect(JSON.parse(oneLine(parse.stderr))).toMatchObject({level: 'error', msg: 'Nonexistent flag: --bogus (see cnet network show --help)', code: 'UsageError', exitCode: 2})
        const typo = await runCli(['netwrk', 'show', '--log-format', 'json'])
        expect(JSON.parse(oneLine(typo.stderr))).toMatchObject({level: 'error', code: 'UsageError', exitCode: 2})
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  })

  describe('traps', () => {
    it('refuses --release-on-exit without --keep, and writes nothing', async () => {
      const {env, keys} = await setup('release', '10.32.0.0/16')
      const dir = mkdtempSync(join(tmpdir(), 'cnet-release-'))
      try {
        const file = join(dir, 'subnet.env')
        const refused = await runCli(['subnet', 'lease', '--public-ip', '192.168.32.1', '--subnet-file', file, '--release-on-exit'], {env})
        expect(refused.exitCode).toBe(2)
        expect(oneLine(refused.stderr)).toBe('cnet: All of the following must be provided when using --release-on-exit: --keep (see cnet subnet lease --help)')
        expect((await store.list(keys.subnetsPrefix())).items).toEqual([])
        expect(existsSync(file)).toBe(false)
        // Without either flag, and with both, the dependency is satisfied.
        expect((await runCli(['subnet', 'lease', '--public-ip', '192.168.32.1', '--subnet-file', file], {env})).exitCode).toBe(0)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })

    it('network init --from-file - reads the config from stdin', async () => {
      const {env} = await setup('stdin')
      const init = await runCli(['network', 'init', '--from-file', '-'], {env, input: '{"Network": "10.33.0.0/16", "Backend": {"Type": "vxlan", "VNI": 7}}'})
      expect(init).toMatchObject({exitCode: 0, stdout: 'network config created: 10.33.0.0/16 (subnets /24, VNI 7, port 8472)\n'})
      expect(JSON.parse((await runCli(['network', 'show', '--json'], {env})).stdout)).toMatchObject({Network: '10.33.0.0/16', Backend: {VNI: 7}})
      const bad = await runCli(['network', 'init', '--from-file', '-', '--force'], {env, input: '{"Network":\n'})
      expect(bad.exitCode).toBe(3)
      expect(oneLine(bad.stderr)).toMatch(/^cnet: --from-file: cannot read stdin: /)
    })

    it('a TTL update on an instance with an HTTP check says so in English', async () => {
      const {env} = await setup('grammar')
      expect((await runCli(['svc', 'register', 'web', '--address', '10.0.0.5', '--port', '8080', '--check-http', 'http://10.0.0.5:8080/'], {env})).exitCode).toBe(0)
      const wrong = await runCli(['health', 'pass', 'web'], {env})
      expect(wrong.exitCode).toBe(2)
      expect(oneLine(wrong.stderr)).toBe('cnet: ID: instance "web" has an HTTP check, not a TTL check (register it with a TTL check)')
    })
  })

  describe('tables', () => {
    it('subnet list: tab-separated when piped, sorted numerically, --no-headers, --wide; an empty list says so on stderr', async () => {
      const {env, keys} = await setup('tables', '10.34.0.0/16')
      const empty = await runCli(['subnet', 'list'], {env})
      expect(empty).toMatchObject({exitCode: 0, stdout: '', stderr: 'no subnet leases\n'})
      for (const n of [53, 7, 100]) expect((await runCli(['subnet', 'reserve', `10.34.${n}.0/24`, '--public-ip', `192.168.34.${n}`], {env})).exitCode).toBe(0)
      const list = await runCli(['subnet', 'list'], {env})
      expect(list.stderr).toBe('')
      expect(list.stdout).not.toMatch(ANSI)
      const lines = list.stdout.trimEnd().split('\n')
      expect(lines[0]).toBe('SUBNET\tPUBLIC IP\tVTEP MAC\tHOST\tLEASE')
      expect(lines.slice(1).map((l) => l.split('\t'))).toEqual(
        [7, 53, 100].map((n) => [`10.34.${n}.0/24`, `192.168.34.${n}`, expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), expect.any(String), 'reserved']),
      )
      const bare = await runCli(['subnet', 'list', '--no-headers'], {env})
      expect(bare.stdout.split('\n')[0]).toMatch(/^10\.34\.7\.0\/24\t/)
      const wide = (await runCli(['subnet', 'list', '--wide'], {env})).stdout.trimEnd().split('\n')
      expect(wide[0]).toBe('SUBNET\tPUBLIC IP\tVTEP MAC\tHOST\tLEASE\tPUBLIC IPV6\tKEY')
      expect(wide[1].split('\t').at(-1)).toBe(keys.subnet('10.34.7.0-24'))
    })

    it('svc list fits an 80-column terminal, cutting only the check output; --wide adds port name, protocol, weight, node and tags', async () => {
      const {env, keys} = await setup('fit')
      const register = (id: string, address: string, extra: string[] = []) =>
        runCli(['svc', 'register', 'web', '--id', id, '--address', address, '--port', '8080', '--node', 'host-a', '--check-http', `http://${address}:8080/health`, ...extra], {env})
      expect((await register('web-10', '10.0.0.10', ['--tag', 'blue', '--tag', 'canary', '--weight', '3', '--port-name', 'http'])).exitCode).toBe(0)
      expect((await register('web-9', '10.0.0.9')).exitCode).toBe(0)
      const output = 'HTTP GET http://10.0.0.9:8080/health: 503 Service Unavailable Output: upstream\n"db" is down\nretry later'
      await store.put(keys.health('default', 'web', 'web-9'), JSON.stringify({status: 'critical', output, since: new Date().toISOString(), checkedAt: new Date().toISOString(), prober: 'host-a'}))

      const tty = await runCliOnTty(['svc', 'list'], env, {columns: 80})
      expect(tty.exitCode).toBe(0)
      const lines = screenLines(tty)
      expect(lines[0]).toMatch(/^NAMESPACE +NAME +ID +ADDRESS +CHECK +STATUS +OUTPUT$/)
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(80)
      // Sorted by address: .9 before .10.
      expect(lines[1]).toMatch(/^default +web +web-9 +10\.0\.0\.9:8080 +http +critical +HTTP GET .*\.\.\.$/)
      expect(lines[2]).toMatch(/^default +web +web-10 +10\.0\.0\.10:8080 +http +critical +no fresh result/)

      const wide = (await runCli(['svc', 'list', '--wide'], {env})).stdout.trimEnd().split('\n')
      expect(wide[0]).toBe('NAMESPACE\tNAME\tID\tADDRESS\tPORT NAME\tPROTOCOL\tWEIGHT\tNODE\tCHECK\tSTATUS\tTAGS\tOUTPUT')
      expect(wide[1].split('\t').at(-1)).toBe(output.replace(/\n/g, ' '))
      expect(wide[2].split('\t')).toEqual(['default', 'web', 'web-10', '10.0.0.10:8080', 'http', 'tcp', '3', 'host-a', 'http', 'critical', 'blue,canary', expect.any(String)])
      expect(await runCli(['svc', 'list', 'other'], {env})).toMatchObject({exitCode: 0, stdout: '', stderr: 'no service instances\n'})
    })

    it('svc resolve prints bare HOST:PORT lines for $(...); --wide is a table', async () => {
      const {env} = await setup('resolve')
      expect((await runCli(['svc', 'register', 'api', '--address', 'fd00::5', '--port', '443', '--tag', 'v2'], {env})).exitCode).toBe(0)
      expect(await runCli(['svc', 'resolve', 'api'], {env})).toMatchObject({exitCode: 0, stdout: '[fd00::5]:443\n'})
      const wide = await runCli(['svc', 'resolve', 'api', '--wide'], {env})
      expect(wide.stdout.trimEnd().split('\n')).toEqual(['ADDRESS\tID\tSTATUS\tWEIGHT\tNODE\tTAGS', expect.stringMatching(/^\[fd00::5\]:443\tapi\tpassing\t1\t.+\tv2$/)])
    })
  })

  describe('records', () => {
    it('actions are sentences; subnet show gives the expiry as subnet list does; nothing says null', async () => {
      const {env} = await setup('records', '10.35.0.0/16')
      const dir = mkdtempSync(join(tmpdir(), 'cnet-records-'))
      try {
        const register = await runCli(['svc', 'register', 'web', '--id', 'web-1', '--address', '10.0.0.5', '--port', '8080', '--check-http', 'http://10.0.0.5:8080/health'], {env})
        expect(register.stdout).toBe('registered web-1 (web.default) at 10.0.0.5:8080, check http every 10s\n')
        const batch = await runCli(['svc', 'register', 'batch', '--address', '10.0.0.6', '--port', '9000', '--check-ttl', '30s'], {env})
        expect(batch.stdout).toBe('registered batch (batch.default) at 10.0.0.6:9000, TTL check of 30s\n')
        const pass = await runCli(['health', 'pass', 'batch'], {env})
        expect(pass.stdout).toBe('batch is passing: its TTL check turns critical in 30s unless updated again\n')
        const file = join(dir, 'subnet.env')
        const lease = await runCli(['subnet', 'lease', '--public-ip', '192.168.35.1', '--subnet-file', file], {env})
        const leased = /^leased (10\.35\.\d+\.0\/24) for 192\.168\.35\.1 \(VTEP MAC ([0-9a-f:]{17}), expires in 24h\); wrote (.+)\n$/.exec(lease.stdout)
        expect(leased?.[3]).toBe(file)
        const subnet = leased![1]
        const show = await runCli(['subnet', 'show', subnet], {env})
        expect(show.stdout).toMatch(new RegExp(`^subnet +${subnet.replace(/\./g, '\\.')}$`, 'm'))
        const shown = /^expires in +(\S+)$/m.exec(show.stdout)![1]
        expect(shown).toMatch(/^(23h59m\d+s|24h)$/)
        expect((await runCli(['subnet', 'list', '--no-headers'], {env})).stdout.split('\t')[4].trim()).toBe('leased')
        const listed = await runCli(['subnet', 'list', '--expiry'], {env})
        expect(listed.stdout.split('\n')[0].split('\t')[4]).toBe('EXPIRES IN')
        expect(listed.stdout.split('\n')[1].split('\t')[4].trim()).toMatch(/^(23h59m\d+s|24h)$/)
        const deregister = await runCli(['svc', 'deregister', 'web-1'], {env})
        expect(deregister.stdout).toBe('deregistered web-1 (web.default)\n')
        for (const result of [register, batch, pass, lease, show, deregister]) expect(result.stdout).not.toMatch(/null|undefined/)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  })

  describe('daemon logs', () => {
    let server: Server | undefined
    afterAll(() => {
      server?.close()
    })

    it("a check's multi-line output never breaks a text log line; values with spaces are quoted", async () => {
      const {env} = await setup('logfmt')
      const port = await freePort()
      server = createServer((_req, res) => {
        res.writeHead(500)
        res.end('line one\nline "two"\n')
      })
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve))
      expect((await runCli(['svc', 'register', 'web', '--address', '127.0.0.1', '--port', String(port), '--check-http', `http://127.0.0.1:${port}/`, '--interval', '1s', '--node', 'logfmt-node'], {env})).exitCode).toBe(0)
      const child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'health', 'run', '--node', 'logfmt-node', '--lease-ttl', '2s'], {env: {...process.env, ...env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
      try {
        await waitFor('the status change logged', () => stderr.includes('status changed'), {timeoutMs: 15_000, intervalMs: 100})
      } finally {
        child.kill('SIGTERM')
      }
      expect(await exited).toBe(0)
      const lines = stderr.trimEnd().split('\n')
      for (const line of lines) expect(line).toMatch(/^(DEBUG|INFO|WARN|ERROR) +[\w/-]+: /)
      const changed = lines.find((l) => l.includes('status changed'))
      expect(changed).toMatch(/ output="HTTP GET http:\/\/127\.0\.0\.1:\d+\/: 500 Internal Server Error Output: line one\\nline \\"two\\""$/)
    }, 30_000)
  })

  describe('completion', () => {
    const cache = mkdtempSync(join(tmpdir(), 'cnet-completion-'))
    afterAll(() => rmSync(cache, {recursive: true, force: true}))
    const env = {XDG_CACHE_HOME: cache}
    const dir = join(cache, 'cnet', 'autocomplete')

    it('builds its cache only when asked, and completes commands and flags in bash', async () => {
      expect((await runCli(['version'], {env})).exitCode).toBe(0)
      expect(existsSync(dir)).toBe(false)
      const bash = await runCli(['autocomplete', 'bash'], {env})
      expect(bash.exitCode).toBe(0)
      expect(bash.stdout).toContain('cnet autocomplete script bash')
      const script = await runCli(['autocomplete', 'script', 'bash'], {env})
      expect(script.stdout).toContain(`CNET_AC_BASH_SETUP_PATH=${join(dir, 'bash_setup')}`)
      const complete = (line: string) => {
        const result = spawnSync('bash', ['-c', `${script.stdout.trim()}\nread -ra COMP_WORDS <<< "$LINE"; [[ "$LINE" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _cnet_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}" | sort -u`], {env: {...process.env, LINE: line}, encoding: 'utf8'})
        return result.stdout.trim().split('\n')
      }
      expect(complete('cnet sub')).toEqual(['subnet'])
      expect(complete('cnet subnet ')).toEqual(['lease', 'list', 'release', 'reserve', 'show'])
      expect(complete('cnet svc list --w')).toEqual(['--wide'])
    })

    it('writes a zsh completion function that zsh accepts, with the choices of --strategy', async () => {
      expect((await runCli(['autocomplete', 'zsh'], {env})).exitCode).toBe(0)
      const fn = join(dir, 'functions', 'zsh', '_cnet')
      expect(readFileSync(fn, 'utf8')).toMatch(/--strategy"\[how to pick\]:strategy options:\(round-robin random weighted hash\)"/)
      const zsh = spawnSync('zsh', ['-n', fn], {encoding: 'utf8'})
      expect(zsh.error).toBeUndefined()
      expect({status: zsh.status, stderr: zsh.stderr}).toEqual({status: 0, stderr: ''})
      const script = await runCli(['autocomplete', 'script', 'zsh'], {env})
      expect(script.stdout).toContain(`CNET_AC_ZSH_SETUP_PATH=${join(dir, 'zsh_setup')}`)
    })
  })
})
