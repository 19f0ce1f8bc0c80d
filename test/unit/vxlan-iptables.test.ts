import {describe, expect, it} from '@jest/globals'
import {masqueradeRules, parseIptablesSave, planIptablesDown, planIptablesUp} from '../../src/net/vxlan/iptables.js'

const rules = masqueradeRules('10.5.0.0/16', '10.5.1.0/24')

/** What iptables-save prints once the rules are in (jumps first, as it lists chains). */
function saved(jumps = 1): string {
  const nat = [...Array(jumps).fill('-A POSTROUTING -j CNET-POSTRTG'), ...rules[0].rules.map((r) => `-A CNET-POSTRTG ${r}`)]
  const filter = [...Array(jumps).fill('-A FORWARD -j CNET-FWD'), ...rules[1].rules.map((r) => `-A CNET-FWD ${r}`)]
  return ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':CNET-FWD - [0:0]', ...filter, 'COMMIT', '*nat', ':POSTROUTING ACCEPT [0:0]', ':CNET-POSTRTG - [0:0]', ...nat, 'COMMIT', ''].join('\n')
}

describe('iptables (--ip-masq)', () => {
  it('mirrors flannel: RETURN for marked and in-network traffic, MASQUERADE outward, ACCEPT forwarding', () => {
    expect(rules[0].rules).toEqual([
      '-m mark --mark 0x4000/0x4000 -j RETURN',
      '-s 10.5.1.0/24 -d 10.5.0.0/16 -j RETURN',
      '-s 10.5.0.0/16 -d 10.5.1.0/24 -j RETURN',
      '! -s 10.5.0.0/16 -d 10.5.1.0/24 -j RETURN',
      '-s 10.5.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully',
      '! -s 10.5.0.0/16 -d 10.5.0.0/16 -j MASQUERADE --random-fully',
    ])
    expect(rules[1].rules).toEqual(['-s 10.5.0.0/16 -j ACCEPT', '-d 10.5.0.0/16 -j ACCEPT'])
  })

  it('on a clean host: one transaction declaring both chains and one jump each', () => {
    const text = planIptablesUp(rules, parseIptablesSave('*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'))!
    expect(text.split('\n').filter((l) => l.startsWith('-A POSTROUTING') || l.startsWith('-A FORWARD'))).toEqual(['-A POSTROUTING -j CNET-POSTRTG', '-A FORWARD -j CNET-FWD'])
    expect(text.match(/COMMIT/g)).toHaveLength(2)
    expect(text).toContain(':CNET-POSTRTG - [0:0]\n')
  })

  it('plans nothing when the rules are already there', () => {
    expect(planIptablesUp(rules, parseIptablesSave(saved()))).toBeUndefined()
  })

  it('drops extra jumps so exactly one remains, and rewrites a chain whose rules drifted', () => {
    const text = planIptablesUp(rules, parseIptablesSave(saved(3)))!
    expect(text.split('\n').filter((l) => l === '-D POSTROUTING -j CNET-POSTRTG')).toHaveLength(2)
    expect(text).not.toContain('-A POSTROUTING')
    const drifted = planIptablesUp(rules, parseIptablesSave(saved().replace('-A CNET-FWD -d 10.5.0.0/16 -j ACCEPT\n', '')))!
    expect(drifted).toContain('*filter')
    expect(drifted).not.toContain('*nat')
  })

  it('down removes the jumps and the chains, and plans nothing when they are gone', () => {
    const text = planIptablesDown(parseIptablesSave(saved()))!
    expect(text).toContain('-D POSTROUTING -j CNET-POSTRTG\n-X CNET-POSTRTG')
    expect(text).toContain('-D FORWARD -j CNET-FWD\n-X CNET-FWD')
    expect(planIptablesDown(parseIptablesSave('*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n'))).toBeUndefined()
  })
})
