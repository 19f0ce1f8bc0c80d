import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {guardWatchManager} from './etcd3-watch-guard.js'

type Vendor = typeof import('./etcd3-vendor.js')

const require = createRequire(import.meta.url)
const bundled = new URL('../vendor/etcd3.cjs', import.meta.url)

/** The bundled etcd3 when the build made one, else the packages themselves (tests, dev). */
export const vendor: Vendor = existsSync(bundled) ? require(bundled.pathname) : {...require('etcd3'), ...require('cockatiel'), ...require('etcd3/lib/watch.js')}

guardWatchManager(vendor.WatchManager.prototype as unknown as Record<string | symbol, unknown>)
