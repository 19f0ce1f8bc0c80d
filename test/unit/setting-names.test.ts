import {describe, expect, it} from '@jest/globals'
import {flagNames, inUserTerms} from '../../src/cli/setting-names.js'
import DnsServe from '../../src/commands/dns/serve.js'
import {ConfigError, InvalidValueError} from '../../src/lib/errors.js'

describe('errors in the user\'s terms', () => {
  it('names a bad value by its flag and a setting to check with its variables, from the command or from the plain copy a worker gets', () => {
    const plain = {flags: flagNames(DnsServe)}
    expect(JSON.parse(JSON.stringify(plain))).toEqual(plain) // it travels as JSON
    expect(plain.flags['etcd-password']).toEqual({env: 'CNET_ETCD_PASSWORD'})
    expect(plain.flags.zone).toEqual({})
    for (const names of [DnsServe, plain]) {
      expect(inUserTerms(new InvalidValueError('etcd-cafile', 'cannot read /x: ENOENT'), names).message).toBe('--etcd-cafile: cannot read /x: ENOENT')
      expect(inUserTerms(new InvalidValueError('Backend.VNI', 'not a number'), names).message).toBe('Backend.VNI: not a number')
      const refused = inUserTerms(new ConfigError('etcd refused the credentials', undefined, 'etcd-username,etcd-password'), names) as ConfigError
      expect(refused.hint).toBe('check --etcd-username/--etcd-password (CNET_ETCD_USERNAME, CNET_ETCD_PASSWORD)')
    }
    const plainError = new Error('x')
    expect(inUserTerms(plainError, plain)).toBe(plainError)
  })
})
