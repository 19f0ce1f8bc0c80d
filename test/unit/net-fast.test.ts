import {readFileSync} from 'node:fs'
import * as net from 'node:net'
import {describe, expect, it} from '@jest/globals'
import * as fastNet from '../../src/store/net-fast.js'

const {isIP, isIPv6} = fastNet

describe("the bundled gRPC client's node:net", () => {
  const samples = ['127.0.0.1', '10.5.52.1', '::1', '::ffff:127.0.0.1', 'fe80::1%eth0', '2001:db8::', 'localhost', '', '1.2.3', '1:2', ':::', '01.2.3.4', 'etcd-0.etcd:2379']

  it.each(samples)('answers as node:net does for %j', (text) => {
    expect([isIPv6(text), isIP(text)]).toEqual([net.isIPv6(text), net.isIP(text)])
    expect([fastNet.isIPv6(text), fastNet.isIP(text)]).toEqual([net.isIPv6(text), net.isIP(text)])
  })

  it('is node:net otherwise', () => {
    expect(fastNet.connect).toBe(net.connect)
    expect(fastNet.Socket).toBe(net.Socket)
  })

  it('is what the built etcd client uses in place of node:net', () => {
    const bundle = readFileSync('dist/vendor/etcd3.cjs', 'utf8')
    // gRPC's own modules ask for "net" (seven of them); only this file asks for node:net.
    expect(bundle).not.toContain('require("net")')
    expect(bundle).toMatch(/typeof \w+=="string"&&\w+\.includes\(":"\)&&\w+\.isIPv6\(\w+\)/)
  })
})
