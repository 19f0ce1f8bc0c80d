/**
 * The third-party half of the store: etcd3 (with gRPC and protobufjs) and cockatiel.
 * `npm run build` bundles this file into dist/vendor/etcd3.cjs, because resolving and
 * reading the ~200 files of gRPC one by one is most of a CLI call's start-up time.
 */
export {Etcd3, isRecoverableError} from 'etcd3'
// Guarded at load time: see etcd3-watch-guard.ts.
export {WatchManager} from 'etcd3/lib/watch.js'
export {ExponentialBackoff, circuitBreaker, ConsecutiveBreaker, handleWhen, retry} from 'cockatiel'
