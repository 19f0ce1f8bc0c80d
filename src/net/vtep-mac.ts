import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {writeFileAtomic} from '../lib/atomic-file.js'

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/

/** A random MAC with the locally-administered bit set and the multicast bit clear. */
export function randomVtepMac(bytes: Buffer = randomBytes(6)): string {
  const b = Buffer.from(bytes)
  b[0] = (b[0] & 0xfe) | 0x02
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}

/** Where the MAC is kept: beside the subnet file, so each host (or lab node) has its own. */
export const vtepMacFile = (subnetFile: string) => join(dirname(subnetFile), 'vtep-mac')

/**
 * The VTEP MAC this host's VXLAN device will use: the one kept beside the subnet file,
 * else a new random one. Nothing is written here: the caller keeps a new MAC with
 * saveVtepMac once a lease holds it, so a failed acquisition leaves the disk as it was,
 * and the device can later be created with the MAC peers already hold.
 */
export function keptOrNewVtepMac(subnetFile: string): string {
  const file = vtepMacFile(subnetFile)
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim().toLowerCase()
    if (MAC.test(kept)) return kept
  }
  return randomVtepMac()
}

export function saveVtepMac(subnetFile: string, mac: string): void {
  writeFileAtomic(vtepMacFile(subnetFile), mac + '\n')
}
