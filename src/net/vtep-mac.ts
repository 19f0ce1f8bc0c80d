import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {writeFileAtomic} from '../lib/atomic-file.js'
import type {Family} from './ip.js'

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/

/** A random MAC with the locally-administered bit set and the multicast bit clear. */
export function randomVtepMac(bytes: Buffer = randomBytes(6)): string {
  const b = Buffer.from(bytes)
  b[0] = (b[0] & 0xfe) | 0x02
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}

/**
 * Where a device's MAC is kept: beside its subnet file and named after it
 * (`subnet.env.vtep-mac`, `subnet.env.vtep-mac-v6`), so two subnet files in one
 * directory (two hosts' files kept side by side, lab nodes) never share a MAC.
 */
export const vtepMacFile = (subnetFile: string, family: Family = 4): string => `${subnetFile}.vtep-mac${family === 6 ? '-v6' : ''}`

/** Where cnet kept the IPv4 MAC before: one `vtep-mac` per directory, shared by every subnet file in it. */
export const legacyVtepMacFile = (subnetFile: string): string => join(dirname(subnetFile), 'vtep-mac')

export interface KeptMac {
  mac: string
  /** Where it came from: this subnet file's own file, the old shared file, or nowhere (new). */
  source: 'kept' | 'legacy' | 'new'
}

function readMac(file: string): string | undefined {
  if (!existsSync(file)) return undefined
  const text = readFileSync(file, 'utf8').trim().toLowerCase()
  return MAC.test(text) ? text : undefined
}

/**
 * The VTEP MAC this host's device of a family will use: the one kept for the subnet
 * file, else (IPv4, once) the old shared `vtep-mac` of its directory, else a new random
 * one. Nothing is written here: the caller keeps it with saveVtepMac once a lease holds
 * it, so a failed acquisition leaves the disk as it was. A MAC taken over from the
 * shared file that another live lease already holds is replaced by the caller (the
 * shared file's second reader), so the migration cannot hand one MAC to two hosts.
 */
export function keptOrNewVtepMac(subnetFile: string, family: Family = 4): KeptMac {
  const kept = readMac(vtepMacFile(subnetFile, family))
  if (kept) return {mac: kept, source: 'kept'}
  const legacy = family === 4 ? readMac(legacyVtepMacFile(subnetFile)) : undefined
  if (legacy) return {mac: legacy, source: 'legacy'}
  return {mac: randomVtepMac(), source: 'new'}
}

/** Keeps the MAC for the subnet file; a shared file it was taken over from is removed, its job done. */
export function saveVtepMac(subnetFile: string, mac: string, family: Family = 4, takenOver = false): void {
  writeFileAtomic(vtepMacFile(subnetFile, family), mac + '\n')
  if (takenOver) rmSync(legacyVtepMacFile(subnetFile), {force: true})
}

/** The MACs kept for a subnet file (either family), for telling its lease from another host's. */
export function keptVtepMacs(subnetFile: string): string[] {
  return [vtepMacFile(subnetFile, 4), vtepMacFile(subnetFile, 6)].flatMap((file) => readMac(file) ?? [])
}
