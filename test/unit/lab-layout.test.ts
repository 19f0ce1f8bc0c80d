import {describe, expect, it} from '@jest/globals'
import {DEFAULT_LAB_NAMES, labLayout, validateLabNames} from '../../src/lab/layout.js'
import {InvalidValueError} from '../../src/lib/errors.js'

describe('lab layout', () => {
  const layout = labLayout('/tmp/lab', 3, 2)
  const allNames = (l: typeof layout) => [l.underlayNs, l.rootVeth, l.rootBridgePort, ...l.nodes.flatMap((n) => [n.ns, n.veth, n.bridgePort, ...n.pods.map((p) => p.ns)])]

  it('names every namespace and root link with the lab prefix', () => {
    const names = allNames(layout)
    expect(names.every((n) => n.startsWith(DEFAULT_LAB_NAMES.prefix))).toBe(true)
    expect(new Set(names.filter((n) => !n.endsWith('ul'))).size).toBeGreaterThan(10)
    // Interface names must fit the kernel's 15 characters.
    expect(Math.max(...names.map((n) => n.length))).toBeLessThanOrEqual(15)
  })

  it('gives each node its underlay address and files', () => {
    expect(layout.nodes.map((n) => n.address)).toEqual(['10.213.0.1', '10.213.0.2', '10.213.0.3'])
    expect(layout.nodes[1].subnetFile).toBe('/tmp/lab/node2/subnet.env')
    expect(layout.etcdEndpoint).toBe('http://10.213.0.254:2379')
    expect(layout.nodes.flatMap((n) => n.pods.map((p) => p.id))).toEqual(['n1-web1', 'n1-web2', 'n2-web1', 'n2-web2', 'n3-web1', 'n3-web2'])
  })

  it("a second lab's own names share nothing with the default lab's", () => {
    const other = labLayout('/tmp/lab2', 20, 20, {prefix: 'abcde-', underlay: '10.223.0.0/24', network: '10.224.0.0/16'})
    const names = allNames(other)
    expect(names.every((n) => n.startsWith('abcde-') && n.length <= 15)).toBe(true)
    expect(names.filter((n) => allNames(layout).includes(n))).toEqual([])
    expect(other.etcdEndpoint).toBe('http://10.223.0.254:2379')
    expect(other.nodes[19]!.address).toBe('10.223.0.20')
    expect(other.names.network).toBe('10.224.0.0/16')
  })

  it.each([
    [{prefix: 'CNL-'}, 'prefix'],
    [{prefix: 'toolong-'}, 'prefix'],
    [{prefix: 'cnl'}, 'prefix'],
    [{underlay: '10.213.0.0/16'}, 'underlay'],
    [{underlay: '10.213.0.1/24'}, 'underlay'],
    [{underlay: 'fd00::/120'}, 'underlay'],
    [{network: '10.214.0.0/24'}, 'network'],
    [{network: '10.213.0.0/16'}, 'network'],
  ])('refuses %j, naming %s', (override, field) => {
    const attempt = () => validateLabNames({...DEFAULT_LAB_NAMES, ...override})
    expect(attempt).toThrow(InvalidValueError)
    expect(attempt).toThrow(new RegExp(`^${field}: `))
  })
})
