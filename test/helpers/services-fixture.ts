import {Keys} from '../../src/store/keys.js'
import type {Store} from '../../src/store/store.js'
import type {HealthRecord, HealthStatus, ServiceRegistration} from '../../src/svc/model.js'

/**
 * Puts service records straight into etcd, in the format `cnet svc register` and the
 * prober write, so DNS tests need neither.
 */
export function servicesFixture(store: Store, prefixes: {networkPrefix: string; cnetPrefix: string}) {
  const keys = new Keys(prefixes)
  return {
    async putInstance(instance: Partial<ServiceRegistration> & {id: string; name: string; address: string}): Promise<ServiceRegistration> {
      const registration: ServiceRegistration = {
        namespace: 'default',
        port: 80,
        protocol: 'tcp',
        tags: [],
        meta: {},
        weight: 1,
        node: 'test',
        registeredAt: new Date().toISOString(),
        ...instance,
      }
      await store.put(keys.service(registration.namespace, registration.name, registration.id), JSON.stringify(registration))
      return registration
    },
    async putHealth(namespace: string, name: string, id: string, status: HealthStatus): Promise<void> {
      const now = new Date().toISOString()
      const record: HealthRecord = {status, output: '', since: now, checkedAt: now, prober: 'test'}
      await store.put(keys.health(namespace, name, id), JSON.stringify(record))
    },
    async deleteInstance(namespace: string, name: string, id: string): Promise<void> {
      await store.delete(keys.service(namespace, name, id))
      await store.delete(keys.health(namespace, name, id))
    },
  }
}
