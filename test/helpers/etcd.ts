import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './ports.js'

/**
 * Real etcd members from the Debian binary, on free loopback ports (or a given
 * address), in temporary directories, health-checked before use and stopped by PID.
 */
export interface EtcdMemberOptions {
  name?: string
  host?: string
  tls?: {certFile: string; keyFile: string; caFile: string; clientCertAuth?: boolean}
  /** For members of a cluster: the --initial-cluster value and ports decided up front. */
  cluster?: {initialCluster: string; clientPort: number; peerPort: number; state?: 'new' | 'existing'}
  /** Use this data directory (kept on destroy) instead of a new temporary one. */
  dataDir?: string
}

export class EtcdMember {
  process: ChildProcess | undefined
  log = ''

  constructor(
    readonly name: string,
    readonly host: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly dataDir: string,
    private readonly options: EtcdMemberOptions,
    /** The temporary directory made for this member alone (it holds dataDir): removed whole on destroy. */
    private readonly tempDir?: string,
  ) {}

  get scheme(): string {
    return this.options.tls ? 'https' : 'http'
  }

  get endpoint(): string {
    return `${this.scheme}://${this.host}:${this.clientPort}`
  }

  get peerUrl(): string {
    return `http://${this.host}:${this.peerPort}`
  }

  get pid(): number | undefined {
    return this.process?.pid
  }

  async start(): Promise<void> {
    const c = this.options.cluster
    const args = [
      '--name', this.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.endpoint,
      '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', this.peerUrl,
      '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', c?.initialCluster ?? `${this.name}=${this.peerUrl}`,
      '--initial-cluster-state', c?.state ?? 'new',
      '--log-level', 'warn',
      // Faster elections for tests that stop members.
      '--heartbeat-interval', '50', '--election-timeout', '500',
    ]
    const tls = this.options.tls
    if (tls) {
      args.push('--cert-file', tls.certFile, '--key-file', tls.keyFile)
      if (tls.clientCertAuth) args.push('--client-cert-auth', '--trusted-ca-file', tls.caFile)
    }
    this.log = ''
    const child = spawn('etcd', args, {stdio: ['ignore', 'pipe', 'pipe']})
    child.stdout!.on('data', (d) => (this.log += d))
    child.stderr!.on('data', (d) => (this.log += d))
    this.process = child
  }

  /** Waits until the member answers /health (single member) or just its port (cluster). */
  async waitReady(timeoutMs = 15_000, requireHealthy = true): Promise<void> {
    const deadline = Date.now() + timeoutMs
    const {execFile} = await import('node:child_process')
    const {promisify} = await import('node:util')
    const tlsArgs = this.options.tls ? ['--cacert', this.options.tls.caFile, ...(this.options.tls.clientCertAuth ? ['--cert', this.options.tls.certFile, '--key', this.options.tls.keyFile] : [])] : []
    while (Date.now() < deadline) {
      if (this.process?.exitCode !== null && this.process?.exitCode !== undefined) {
        throw new Error(`etcd ${this.name} exited with ${this.process.exitCode}: ${this.log.slice(-2000)}`)
      }
      try {
        // etcdctl prints its verdict on stderr; the exit code is what counts.
        await promisify(execFile)('etcdctl', ['--endpoints', this.endpoint, ...tlsArgs, '--command-timeout=1s', requireHealthy ? 'endpoint' : 'member', requireHealthy ? 'health' : 'list'])
        return
      } catch {
        // not yet
      }
      await sleep(100)
    }
    throw new Error(`etcd ${this.name} not healthy within ${timeoutMs} ms: ${this.log.slice(-2000)}`)
  }

  /** SIGTERM by PID, then wait until the process is gone (it can take over a second). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.process
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    const timeout = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timeout)
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  /**
   * Stops the member and deletes what was made for it: the whole temporary directory
   * when it has one, else its data directory. A data directory the caller gave is kept.
   */
  async destroy(): Promise<void> {
    await this.stop()
    if (this.options.dataDir) return
    rmSync(this.tempDir ?? this.dataDir, {recursive: true, force: true})
  }
}

export async function startEtcd(options: EtcdMemberOptions = {}): Promise<EtcdMember> {
  const host = options.host ?? '127.0.0.1'
  const clientPort = await freePort(host)
  const peerPort = await freePort(host)
  let tempDir: string | undefined
  let dataDir = options.dataDir
  if (dataDir === undefined) {
    tempDir = mkdtempSync(join(tmpdir(), 'cnet-etcd-'))
    dataDir = join(tempDir, 'data')
  }
  const member = new EtcdMember(options.name ?? 'n1', host, clientPort, peerPort, dataDir, options, tempDir)
  await member.start()
  try {
    await member.waitReady()
  } catch (error) {
    await member.destroy()
    throw error
  }
  return member
}

export interface EtcdCluster {
  members: EtcdMember[]
  endpoints: string[]
  destroy(): Promise<void>
}

/** A three-member cluster on loopback; members can be stopped and restarted one by one. */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const base = mkdtempSync(join(tmpdir(), 'cnet-etcd-cluster-'))
  const ports = []
  for (let i = 0; i < size; i++) ports.push({client: await freePort(), peer: await freePort()})
  const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',')
  const members = ports.map(
    (p, i) =>
      new EtcdMember(`m${i}`, '127.0.0.1', p.client, p.peer, join(base, `m${i}`), {
        cluster: {initialCluster, clientPort: p.client, peerPort: p.peer},
      }),
  )
  await Promise.all(members.map((m) => m.start()))
  try {
    await Promise.all(members.map((m) => m.waitReady(20_000)))
  } catch (error) {
    await Promise.all(members.map((m) => m.stop()))
    rmSync(base, {recursive: true, force: true})
    throw error
  }
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    async destroy() {
      await Promise.all(members.map((m) => m.stop()))
      rmSync(base, {recursive: true, force: true})
    },
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
