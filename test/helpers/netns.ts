import {rmSync} from 'node:fs'
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import {addNamespace, createUnderlay as buildUnderlay, linksWithPrefix, namespacesWithPrefix, removeByPrefix} from '../../src/lab/underlay.js'

/**
 * Throwaway network namespaces for end-to-end tests, built with the same code as
 * `cnet lab`. Every name carries the test's prefix so cleanup removes exactly what the
 * test made, before it starts and after it ends, also after a failure.
 */
const exec = promisify(execFile)

export {addNamespace}

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

export const listNamespaces = namespacesWithPrefix
export const listLinks = linksWithPrefix

/** Removes every namespace (ending what runs inside) and root-namespace link with the prefix. Idempotent. */
export async function cleanup(prefix: string): Promise<void> {
  await removeByPrefix(prefix)
}

/**
 * The end of an end-to-end file: its etcd, every namespace and link with its prefix,
 * its temporary directory. Returns what is still there (both lists empty when clean).
 */
export async function tearDown(prefix: string, parts: {etcd?: {destroy(): Promise<void>}; dir?: string} = {}): Promise<{namespaces: string[]; links: string[]}> {
  await parts.etcd?.destroy()
  await cleanup(prefix)
  if (parts.dir) rmSync(parts.dir, {recursive: true, force: true})
  return {namespaces: await listNamespaces(prefix), links: await listLinks(prefix)}
}

/**
 * A small underlay: a bridge in namespace `${prefix}ul` and one namespace per host
 * (`${prefix}h1`, ...) attached to it, `eth0` with addresses `<subnet>.<i+1>/24`, plus a
 * root-namespace veth with `<subnet>.254` so processes there (etcd) can listen on the underlay.
 */
export interface Underlay {
  bridgeNs: string
  /** `address6`: the host's IPv6 underlay address, when the underlay has IPv6 too. */
  hosts: {ns: string; address: string; address6?: string; iface: string}[]
  /** The root namespace's address on the underlay (for etcd). */
  rootAddress: string
  rootIface: string
}

export async function createUnderlay(prefix: string, hostCount: number, subnet = '10.99.0', ipv6Prefix?: string): Promise<Underlay> {
  const hosts = Array.from({length: hostCount}, (_, i) => ({ns: `${prefix}h${i + 1}`, veth: `${prefix}h${i + 1}`, bridgePort: `${prefix}b${i + 1}`, address: `${subnet}.${i + 1}`}))
  const spec = {bridgeNs: `${prefix}ul`, hosts, rootVeth: `${prefix}r0`, rootBridgePort: `${prefix}br`, rootAddress: `${subnet}.254`, prefixLength: 24}
  await buildUnderlay(spec)
  // With `ipv6Prefix` (e.g. "fd93:0:0:1"): `<prefix>::<i+1>/64` on each host's eth0 too, without DAD.
  const address6 = (i: number) => (ipv6Prefix ? `${ipv6Prefix}::${i + 1}` : undefined)
  if (ipv6Prefix) for (const [i, h] of hosts.entries()) await ip('-n', h.ns, 'addr', 'add', `${address6(i)}/64`, 'dev', 'eth0', 'nodad')
  return {bridgeNs: spec.bridgeNs, hosts: hosts.map((h, i) => ({ns: h.ns, address: h.address, address6: address6(i), iface: 'eth0'})), rootAddress: spec.rootAddress, rootIface: spec.rootVeth}
}

/**
 * A pod on a host: namespace `podNs` joined to the host namespace by a veth (`eth0` in
 * the pod, `hostIface` on the host) with the second address of each subnet given (the
 * host side takes the first) and default routes through the host, as a CNI bridge or
 * ptp plugin would leave it. The host forwards for it.
 */
export async function attachPod(hostNs: string, podNs: string, hostIface: string, subnets: {v4?: string; v6?: string}): Promise<{v4?: string; v6?: string}> {
  await addNamespace(podNs)
  await ip('-n', hostNs, 'link', 'add', hostIface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs)
  await ip('-n', hostNs, 'link', 'set', hostIface, 'up')
  await ip('-n', podNs, 'link', 'set', 'eth0', 'up')
  const pod: {v4?: string; v6?: string} = {}
  if (subnets.v4) {
    const [net, len] = subnets.v4.split('/')
    const base = net.split('.').slice(0, 3).join('.')
    const last = Number(net.split('.')[3])
    await ip('-n', hostNs, 'addr', 'add', `${base}.${last + 1}/${len}`, 'dev', hostIface)
    await ip('-n', podNs, 'addr', 'add', `${base}.${last + 2}/${len}`, 'dev', 'eth0')
    await ip('-n', podNs, 'route', 'add', 'default', 'via', `${base}.${last + 1}`)
    await inNs(hostNs, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
    pod.v4 = `${base}.${last + 2}`
  }
  if (subnets.v6) {
    const net = subnets.v6.split('/')[0].replace(/::$/, '')
    await ip('-n', hostNs, 'addr', 'add', `${net}::1/64`, 'dev', hostIface, 'nodad')
    await ip('-n', podNs, 'addr', 'add', `${net}::2/64`, 'dev', 'eth0', 'nodad')
    await ip('-n', podNs, '-6', 'route', 'add', 'default', 'via', `${net}::1`)
    await inNs(hostNs, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1'])
    pod.v6 = `${net}::2`
  }
  return pod
}
