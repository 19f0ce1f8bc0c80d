import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execa} from 'execa'
import {sleep} from './etcd.js'

/** A dnsmasq on 127.0.0.1:port answering only the given hosts; stopped by PID. */
export async function startDnsmasq(port: number, hosts: Record<string, string>, options: {localTtl?: number} = {}): Promise<{child: ChildProcess; stop(): Promise<void>}> {
  const dir = mkdtempSync(join(tmpdir(), 'cnd-dnsmasq-'))
  const file = join(dir, 'hosts')
  writeFileSync(file, Object.entries(hosts).map(([name, address]) => `${address} ${name}\n`).join(''))
  const child = spawn('dnsmasq', ['--no-resolv', '--no-hosts', '--addn-hosts', file, '--port', String(port), '--listen-address', '127.0.0.1', '--bind-interfaces', '--keep-in-foreground', '--user=root', '--cache-size=10000', `--local-ttl=${options.localTtl ?? 60}`, '--local=/example.test/'], {stdio: 'ignore'})
  const [name] = Object.keys(hosts)
  for (let i = 0; i < 100; i++) {
    const {stdout} = await execa('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', name!], {reject: false})
    if (stdout.trim()) break
    await sleep(50)
  }
  return {
    child,
    async stop() {
      child.kill('SIGTERM')
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.on('exit', resolve)))
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
