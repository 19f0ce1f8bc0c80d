import {describe, expect, it, jest} from '@jest/globals'
import {guardWatchManager} from '../../src/store/etcd3-watch-guard.js'

class ClientRuntimeError extends Error {}

/** A stand-in for etcd3's WatchManager: its handlers throw as etcd3's do when out of step. */
function manager(thrown: Error | undefined) {
  const prototype: Record<string | symbol, unknown> = {
    handleResponse(this: {seen: unknown[]}, response: unknown) {
      if (thrown) throw thrown
      this.seen.push(response)
    },
    handleCreatedResponse() {
      if (thrown) throw thrown
    },
  }
  guardWatchManager(prototype)
  guardWatchManager(prototype) // twice is once
  const handleError = jest.fn()
  const instance = Object.assign(Object.create(prototype) as Record<string, (r: unknown) => void>, {handleError, seen: [] as unknown[]})
  return {instance, handleError}
}

describe("the guard around etcd3's watch stream", () => {
  it('passes replies through untouched', () => {
    const {instance, handleError} = manager(undefined)
    instance.handleResponse!({watch_id: 1})
    expect((instance as unknown as {seen: unknown[]}).seen).toEqual([{watch_id: 1}])
    expect(handleError).not.toHaveBeenCalled()
  })

  it.each(['handleResponse', 'handleCreatedResponse'])('turns a watcher it cannot match in %s into a stream reset, not an uncaught throw', (name) => {
    const error = new ClientRuntimeError('Failed to find watcher for IWatchResponse')
    const {instance, handleError} = manager(error)
    expect(() => instance[name]!({watch_id: 7})).not.toThrow()
    expect(handleError).toHaveBeenCalledWith(error)
  })

  it('lets any other error through', () => {
    const {instance, handleError} = manager(new TypeError('a bug'))
    expect(() => instance.handleResponse!({})).toThrow(TypeError)
    expect(handleError).not.toHaveBeenCalled()
  })
})
