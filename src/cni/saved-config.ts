import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {writeFileAtomic} from '../lib/atomic-file.js'
import type {JsonObject} from './netconf.js'
import {CniCode, CniError} from './spec.js'

/**
 * The delegate config rendered at ADD, kept per container in `<dataDir>/<containerID>`
 * so CHECK and DEL replay exactly what ADD did, even after subnet.env changed or vanished.
 */
const fileOf = (dataDir: string, containerId: string) => join(dataDir, containerId)

export function saveDelegate(dataDir: string, containerId: string, config: JsonObject): void {
  try {
    writeFileAtomic(fileOf(dataDir, containerId), JSON.stringify(config, null, 2) + '\n', 0o600)
  } catch (error) {
    throw new CniError(CniCode.ioFailure, `cannot save the delegate config in ${dataDir} (check that dataDir is writable)`, (error as Error).message)
  }
}

/** The saved config, or undefined when ADD never saved one (or DEL already removed it). */
export function loadDelegate(dataDir: string, containerId: string): JsonObject | undefined {
  const file = fileOf(dataDir, containerId)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CniError(CniCode.ioFailure, `cannot read the saved delegate config ${file}`, (error as Error).message)
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as JsonObject
  } catch {
    // reported below
  }
  throw new CniError(CniCode.decodeFailure, `the saved delegate config ${file} is not a JSON object (remove it once the container is cleaned up by hand)`)
}

export function forgetDelegate(dataDir: string, containerId: string): void {
  rmSync(fileOf(dataDir, containerId), {force: true})
}
