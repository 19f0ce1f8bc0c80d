import {readFileSync} from 'node:fs'
import {InvalidValueError} from '../lib/errors.js'
import type {StoreOptions} from './store.js'

/** The TLS files of StoreOptions, read: an InvalidValueError naming the setting when one cannot be. */
export function readStoreCredentials(options: StoreOptions): {rootCertificate?: Buffer; certChain?: Buffer; privateKey?: Buffer} {
  return {
    rootCertificate: readCredential('etcd-cafile', options.caFile),
    certChain: readCredential('etcd-certfile', options.certFile),
    privateKey: readCredential('etcd-keyfile', options.keyFile),
  }
}

function readCredential(setting: string, path: string | undefined): Buffer | undefined {
  if (!path) return undefined
  try {
    return readFileSync(path)
  } catch (error) {
    throw new InvalidValueError(setting, `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
}
