/**
 * A guard around etcd3 1.1.2's watch stream (the last release; it will not change).
 * When etcd cancels a watch as it is re-attached after a reconnect (its revision was
 * compacted while the stream was down), etcd3's queue of watchers waiting to attach can
 * fall out of step with etcd's replies, and the next reply for a watch it cannot match
 * throws ClientRuntimeError inside a stream event handler: an uncaught exception that
 * ends the whole daemon. Seen with two prefix watches on one client (the DNS index, svc
 * watch) around an outage plus a compaction.
 *
 * The guard turns such a throw into what etcd3 does for any stream error: it tears the
 * stream down and attaches every watcher again from its own next revision (a watcher
 * whose revision is gone is then cancelled, and cnet's watch lists and resyncs). Nothing
 * is lost: each watcher resumes after the last revision it delivered.
 */
interface StreamManager {
  handleError(error: Error): void
}

type Handler = (this: StreamManager, response: unknown) => void

const GUARDED = Symbol.for('cnet.etcd3.watchGuard')

export function guardWatchManager(prototype: Record<string | symbol, unknown>): void {
  if (prototype[GUARDED]) return
  for (const name of ['handleResponse', 'handleCreatedResponse']) {
    const original = prototype[name] as Handler | undefined
    if (typeof original !== 'function') continue
    prototype[name] = function guarded(this: StreamManager, response: unknown) {
      try {
        original.call(this, response)
      } catch (error) {
        if ((error as Error)?.constructor?.name !== 'ClientRuntimeError') throw error
        this.handleError(error as Error)
      }
    }
  }
  prototype[GUARDED] = true
}
