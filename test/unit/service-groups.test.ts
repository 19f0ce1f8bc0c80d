import {describe, expect, it} from '@jest/globals'
import {ServiceGroups} from '../../src/svc/service-groups.js'

/** etcd's key order: bytes, which for these ASCII names is code units. */
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const byService = (a: string[], b: string[]) => byKey(a[0]!, b[0]!) || byKey(a[1]!, b[1]!) || byKey(a[2]!, b[2]!)

describe('ServiceGroups', () => {
  it('hands services on in namespace and name order from rows in key order, whatever "-" does to the keys', () => {
    let seed = 11
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    const label = () => Array.from({length: 1 + random(4)}, () => 'ab-0'[random(4)]).join('')
    for (let round = 0; round < 200; round++) {
      const rows = new Map<string, string[]>()
      for (let i = 0; i < 1 + random(40); i++) {
        const row = [label(), label(), `i${random(5)}`]
        rows.set(row.join('/'), row)
      }
      const inKeyOrder = [...rows.keys()].sort(byKey).map((key) => rows.get(key)!)
      const handedOn: string[][][] = []
      const groups = new ServiceGroups<string[]>((service) => handedOn.push(service))
      // every third row left out by the caller's filter: it still moves the position on
      inKeyOrder.forEach((row, i) => groups.add(`${row[0]}/${row[1]}`, i % 3 === 2 ? undefined : row))
      groups.end()
      const kept = inKeyOrder.filter((_, i) => i % 3 !== 2)
      expect(handedOn.flat()).toEqual(kept.slice().sort(byService))
      // each service once, whole
      expect(new Set(handedOn.map((service) => `${service[0]![0]}/${service[0]![1]}`)).size).toBe(handedOn.length)
      for (const service of handedOn) expect(service.every((row) => row[0] === service[0]![0] && row[1] === service[0]![1])).toBe(true)
    }
  })

  it('hands a service on as soon as the next one starts, unless a "-" may put a later one first', () => {
    const handedOn: string[] = []
    const groups = new ServiceGroups<string>((rows) => handedOn.push(rows.join(',')))
    const add = (service: string, id: string) => groups.add(service, `${service}/${id}`)
    add('default/api', '1')
    add('default/api', '2')
    expect(handedOn).toEqual([])
    add('default/db', '1')
    expect(handedOn).toEqual(['default/api/1,default/api/2'])
    // "web-x" comes before "web" in key order but after it in svc list's: it waits for "web"
    add('default/web-x', '1')
    add('default/web', '1')
    expect(handedOn).toEqual(['default/api/1,default/api/2', 'default/db/1'])
    add('default/webz', '1')
    expect(handedOn).toEqual(['default/api/1,default/api/2', 'default/db/1', 'default/web/1', 'default/web-x/1'])
    // a namespace with "-": its services wait until the keys pass where "kube" would be
    groups.add('kube-system/dns', 'kube-system/dns/1')
    expect(handedOn.slice(4)).toEqual(['default/webz/1'])
    groups.add('kube-system/proxy', 'kube-system/proxy/1')
    groups.add('kube/x', 'kube/x/1')
    expect(handedOn).toHaveLength(5)
    groups.add('kubez/x', 'kubez/x/1')
    expect(handedOn.slice(5)).toEqual(['kube/x/1', 'kube-system/dns/1', 'kube-system/proxy/1'])
    groups.end()
    expect(handedOn.slice(8)).toEqual(['kubez/x/1'])
  })
})
