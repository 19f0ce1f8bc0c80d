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
  hosts: {ns: string; address: string; iface: string}[]
  /** The root namespace's address on the underlay (for etcd). */
  rootAddress: string
  rootIface: string
}

export async function createUnderlay(prefix: string, hostCount: number, subnet = '10.99.0'): Promise<Underlay> {
  const hosts = Array.from({length: hostCount}, (_, i) => ({ns: `${prefix}h${i + 1}`, veth: `${prefix}h${i + 1}`, bridgePort: `${prefix}b${i + 1}`, address: `${subnet}.${i + 1}`}))
  const spec = {bridgeNs: `${prefix}ul`, hosts, rootVeth: `${prefix}r0`, rootBridgePort: `${prefix}br`, rootAddress: `${subnet}.254`, prefixLength: 24}
  await buildUnderlay(spec)
  return {bridgeNs: spec.bridgeNs, hosts: hosts.map((h) => ({ns: h.ns, address: h.address, iface: 'eth0'})), rootAddress: spec.rootAddress, rootIface: spec.rootVeth}
}
