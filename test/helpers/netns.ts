import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

/**
 * Throwaway network namespaces for end-to-end tests. Every name carries the test's
 * prefix so cleanup removes exactly what the test made, before it starts and after
 * it ends, also after a failure.
 */
const exec = promisify(execFile)

export async function sh(cmd: string, args: string[]): Promise<string> {
  const {stdout} = await exec(cmd, args, {maxBuffer: 64 * 1024 * 1024})
  return stdout
}

export async function ip(...args: string[]): Promise<string> {
  return sh('ip', args)
}

export async function inNs(ns: string, cmd: string, args: string[]): Promise<string> {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args])
}

export async function listNamespaces(prefix: string): Promise<string[]> {
  const out = await ip('-j', 'netns', 'list').catch(() => '[]')
  const entries = (out.trim() ? JSON.parse(out) : []) as {name: string}[]
  return entries.map((e) => e.name).filter((name) => name.startsWith(prefix))
}

/** Links in the root namespace whose names start with the prefix. */
export async function listLinks(prefix: string): Promise<string[]> {
  const entries = JSON.parse(await ip('-j', 'link', 'show')) as {ifname: string}[]
  return entries.map((e) => e.ifname).filter((name) => name.startsWith(prefix))
}

/** Removes every namespace and root-namespace link with the prefix. Idempotent. */
export async function cleanup(prefix: string): Promise<void> {
  for (const ns of await listNamespaces(prefix)) {
    // Kill what still runs in it (only processes inside our own namespace).
    const pids = (await ip('netns', 'pids', ns).catch(() => '')).split('\n').filter(Boolean)
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await ip('netns', 'del', ns).catch(() => {})
  }
  for (const link of await listLinks(prefix)) await ip('link', 'del', link).catch(() => {})
}

export async function addNamespace(name: string): Promise<void> {
  await ip('netns', 'add', name)
  await ip('-n', name, 'link', 'set', 'lo', 'up')
}

/**
 * A small underlay: a bridge in namespace `${prefix}ul` and one namespace per host
 * attached to it by a veth pair, with addresses 10.99.0.<i+1>/24 (inside our own
 * namespaces only). The root namespace reaches the bridge through a veth too, so
 * processes there (etcd) can listen on an underlay address.
 */
export interface Underlay {
  bridgeNs: string
  hosts: {ns: string; address: string; iface: string}[]
  /** The root namespace's address on the underlay (for etcd). */
  rootAddress: string
  rootIface: string
}

export async function createUnderlay(prefix: string, hostCount: number, subnet = '10.99.0'): Promise<Underlay> {
  const bridgeNs = `${prefix}ul`
  await addNamespace(bridgeNs)
  await ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge')
  await ip('-n', bridgeNs, 'link', 'set', 'br0', 'up')
  const hosts: Underlay['hosts'] = []
  for (let i = 0; i < hostCount; i++) {
    const ns = `${prefix}h${i + 1}`
    const address = `${subnet}.${i + 1}`
    await addNamespace(ns)
    await ip('link', 'add', `${prefix}h${i + 1}`, 'type', 'veth', 'peer', 'name', `${prefix}b${i + 1}`)
    await ip('link', 'set', `${prefix}h${i + 1}`, 'netns', ns)
    await ip('link', 'set', `${prefix}b${i + 1}`, 'netns', bridgeNs)
    await ip('-n', ns, 'link', 'set', `${prefix}h${i + 1}`, 'name', 'eth0')
    await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0')
    await ip('-n', ns, 'link', 'set', 'eth0', 'up')
    await ip('-n', bridgeNs, 'link', 'set', `${prefix}b${i + 1}`, 'master', 'br0')
    await ip('-n', bridgeNs, 'link', 'set', `${prefix}b${i + 1}`, 'up')
    hosts.push({ns, address, iface: 'eth0'})
  }
  const rootIface = `${prefix}r0`
  const rootAddress = `${subnet}.254`
  await ip('link', 'add', rootIface, 'type', 'veth', 'peer', 'name', `${prefix}br`)
  await ip('link', 'set', `${prefix}br`, 'netns', bridgeNs)
  await ip('-n', bridgeNs, 'link', 'set', `${prefix}br`, 'master', 'br0')
  await ip('-n', bridgeNs, 'link', 'set', `${prefix}br`, 'up')
  await ip('addr', 'add', `${rootAddress}/24`, 'dev', rootIface)
  await ip('link', 'set', rootIface, 'up')
  return {bridgeNs, hosts, rootAddress, rootIface}
}
