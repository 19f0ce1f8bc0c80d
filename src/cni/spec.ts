/**
 * The parts of the CNI specification (1.0.0) cnet's plugin speaks: the versions it
 * accepts, the error codes, and the error document every failure becomes. Pure.
 */
export const CNI_VERSION = '1.0.0'
/** flannel's plugin accepts 0.3.x and 0.4.0 configs too; so does cnet's. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const

export const CniCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  containerUnknown: 3,
  invalidEnv: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  // Codes from 100 are the plugin's own.
  subnetEnv: 100,
  delegateMissing: 101,
  delegateFailed: 102,
  /** A bug in cnet: the message says what threw. */
  internal: 199,
} as const
export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode]

/** An error the plugin reports as the spec's error document on stdout. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    /** What went wrong and what to do about it, in one sentence. */
    readonly msg: string,
    readonly details = '',
  ) {
    super(msg)
    this.name = 'CniError'
  }
}

export interface CniErrorDocument {
  cniVersion: string
  code: number
  msg: string
  details: string
}

export function errorDocument(error: CniError, cniVersion: string = CNI_VERSION): CniErrorDocument {
  return {cniVersion, code: error.code, msg: error.msg, details: error.details}
}

export function versionDocument(): {cniVersion: string; supportedVersions: string[]} {
  return {cniVersion: CNI_VERSION, supportedVersions: [...SUPPORTED_VERSIONS]}
}

export function isSupportedVersion(version: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version)
}

/** CHECK arrived in 0.4.0; a 0.3.x config cannot ask for it. */
export function versionAllowsCheck(version: string): boolean {
  return version !== '0.3.0' && version !== '0.3.1'
}

/** Container IDs and network names: an alphanumeric, then alphanumerics, `_`, `.` or `-`. */
export const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
