import {isAbsolute} from 'node:path'
import {DEFAULT_SUBNET_FILE} from '../net/subnet-env.js'
import {validIfName} from './env.js'
import {CniCode, CniError, IDENTIFIER, SUPPORTED_VERSIONS, isSupportedVersion} from './spec.js'

/**
 * The network config a runtime hands cnet on stdin, parsed and checked before anything
 * is read or written. Pure.
 *
 *   {"cniVersion":"1.0.0","name":"cnet","type":"cnet",
 *    "subnetFile":"/run/cnet/subnet.env","dataDir":"/var/lib/cni/cnet",
 *    "bridge":"cnet0","delegate":{"hairpinMode":false}}
 */
export const DEFAULT_DATA_DIR = '/var/lib/cni/cnet'
export const DEFAULT_BRIDGE = 'cnet0'

export type JsonObject = Record<string, unknown>

export interface CnetNetConf {
  cniVersion: string
  name: string
  type: string
  subnetFile: string
  dataDir: string
  bridge: string
  /** Keys laid over the rendered bridge config, as flannel's `delegate` allows. */
  delegate: JsonObject
  /** The chain's earlier result; the runtime sends it on CHECK and DEL. */
  prevResult?: JsonObject
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The cniVersion of a document, if it has a usable one: error documents are written in it. */
export function peekVersion(text: string): string | undefined {
  try {
    const value = (JSON.parse(text) as JsonObject | null)?.cniVersion
    return typeof value === 'string' && isSupportedVersion(value) ? value : undefined
  } catch {
    return undefined
  }
}

export function parseNetConf(text: string): CnetNetConf {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new CniError(CniCode.decodeFailure, 'the network config on stdin is not JSON (the runtime must pass the network config on stdin)', (error as Error).message)
  }
  if (!isObject(raw)) throw new CniError(CniCode.decodeFailure, 'the network config on stdin is not a JSON object')
  const invalid = (msg: string) => new CniError(CniCode.invalidConfig, msg)

  const version = raw.cniVersion
  if (typeof version !== 'string' || !version) throw invalid('cniVersion is missing (set "cniVersion": "1.0.0" in the network config)')
  if (!isSupportedVersion(version)) {
    throw new CniError(CniCode.incompatibleVersion, `cniVersion "${version}" is not supported (use one of ${SUPPORTED_VERSIONS.join(', ')})`)
  }
  if (typeof raw.name !== 'string' || !IDENTIFIER.test(raw.name)) {
    throw invalid(`name ${JSON.stringify(raw.name)} is not a network name (letters, digits, _ . -, starting with a letter or digit)`)
  }
  if (typeof raw.type !== 'string' || !raw.type) throw invalid('type is missing (it names the plugin: "cnet")')

  const absolutePath = (key: string, fallback: string): string => {
    const value = raw[key]
    if (value === undefined) return fallback
    if (typeof value !== 'string' || !isAbsolute(value)) throw invalid(`${key} ${JSON.stringify(value)} must be an absolute path`)
    return value
  }
  const bridge = raw.bridge ?? DEFAULT_BRIDGE
  if (typeof bridge !== 'string' || !validIfName(bridge)) throw invalid(`bridge ${JSON.stringify(bridge)} is not an interface name (1-15 characters, no /, : or spaces)`)

  const delegate = raw.delegate ?? {}
  if (!isObject(delegate)) throw invalid('delegate must be an object of keys for the delegate plugin, e.g. {"hairpinMode": false}')
  if (delegate.type !== undefined && (typeof delegate.type !== 'string' || !delegate.type)) throw invalid('delegate.type must be the name of a plugin, e.g. "bridge"')
  if (delegate.type === raw.type || delegate.type === 'cnet') throw invalid(`delegate.type "${String(delegate.type)}" would call cnet again (use "bridge")`)
  if (delegate.ipam !== undefined && !isObject(delegate.ipam)) throw invalid('delegate.ipam must be an object')
  if (raw.prevResult !== undefined && !isObject(raw.prevResult)) throw invalid('prevResult must be an object')

  return {
    cniVersion: version,
    name: raw.name,
    type: raw.type,
    subnetFile: absolutePath('subnetFile', DEFAULT_SUBNET_FILE),
    dataDir: absolutePath('dataDir', DEFAULT_DATA_DIR),
    bridge,
    delegate,
    ...(raw.prevResult ? {prevResult: raw.prevResult as JsonObject} : {}),
  }
}
