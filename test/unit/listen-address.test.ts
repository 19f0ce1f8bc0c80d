import {describe, expect, it} from '@jest/globals'
import {formatHostPort, parseHostPort} from '../../src/lib/listen-address.js'

describe('listen addresses', () => {
  it.each([
    ['127.0.0.1:9100', undefined, {host: '127.0.0.1', port: 9100}],
    ['[::1]:9153', undefined, {host: '::1', port: 9153}],
    ['10.0.0.2', 53, {host: '10.0.0.2', port: 53}],
    ['fd00::2', 53, {host: 'fd00::2', port: 53}],
    ['[fd00::2]', 53, {host: 'fd00::2', port: 53}],
  ])('%s (default port %s) parses', (text, port, expected) => {
    expect(parseHostPort(text, port)).toEqual(expected)
  })

  it.each([['localhost:80'], ['127.0.0.1'], ['127.0.0.1:0'], ['127.0.0.1:65536'], ['127.0.0.1:x'], ['[::1]:'], [''], ['1.2.3:80']])('%s is not one', (text) => {
    expect(parseHostPort(text)).toBeUndefined()
  })

  it('formats IPv6 in brackets', () => {
    expect(formatHostPort({host: '::1', port: 53})).toBe('[::1]:53')
    expect(formatHostPort({host: '127.0.0.1', port: 53})).toBe('127.0.0.1:53')
  })
})
