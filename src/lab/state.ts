import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ConfigError} from '../lib/errors.js'
import type {LabLayout} from './layout.js'

/** What `lab up` made, saved so `lab status` and `lab down` work from a fresh process. */
export interface LabState {
  layout: LabLayout
  podAddresses: Record<string, string>
  nodeSubnets: Record<string, string>
  startedAt: string
}

export const DEFAULT_LAB_DIR = '/var/lib/cnet/lab'
const stateFile = (stateDir: string) => join(stateDir, 'lab.json')

export function saveLabState(state: LabState): void {
  mkdirSync(state.layout.stateDir, {recursive: true})
  writeFileSync(stateFile(state.layout.stateDir), JSON.stringify(state, null, 2) + '\n')
}

export function readLabState(stateDir: string): LabState | undefined {
  const file = stateFile(stateDir)
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8')) as LabState
}

export function requireLabState(stateDir: string): LabState {
  const state = readLabState(stateDir)
  if (!state) throw new ConfigError(`lab: no lab at ${stateDir}`, 'start one with: cnet lab up')
  return state
}
