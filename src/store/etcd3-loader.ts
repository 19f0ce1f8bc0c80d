import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {requireWithCodeCache} from '../lib/code-cache.js'
import {guardWatchManager} from './etcd3-watch-guard.js'

type Vendor = typeof import('./etcd3-vendor.js')

const require = createRequire(import.meta.url)
const bundled = new URL('../vendor/etcd3.cjs', import.meta.url).pathname
/** The bundled etcd3 when the build made one (with its code cache, written next to it by scripts/build.sh), else the packages themselves (tests, dev). */
export const vendor: Vendor = existsSync(bundled)
  ? (requireWithCodeCache(bundled) as Vendor)
  : {...require('etcd3'), ...require('cockatiel'), ...require('etcd3/lib/watch.js')}

guardWatchManager(vendor.WatchManager.prototype as unknown as Record<string | symbol, unknown>)
