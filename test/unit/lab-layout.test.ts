import {describe, expect, it} from '@jest/globals'
import {LAB_PREFIX, labLayout} from '../../src/lab/layout.js'

describe('lab layout', () => {
  const layout = labLayout('/tmp/lab', 3, 2)

  it('names every namespace and root link with the lab prefix', () => {
    const names = [layout.underlayNs, layout.rootVeth, layout.rootBridgePort, ...layout.nodes.flatMap((n) => [n.ns, n.veth, n.bridgePort, ...n.pods.map((p) => p.ns)])]
    expect(names.every((n) => n.startsWith(LAB_PREFIX))).toBe(true)
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
})
