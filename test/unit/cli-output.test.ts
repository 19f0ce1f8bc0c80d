import {describe, expect, it} from '@jest/globals'
import {type Column, type Terminal, cellText, compareAddresses, hostPort, renderRecord, renderTable, sortByAddress, sortByHostPort} from '../../src/cli/output.js'
import {sortServiceRows} from '../../src/cli/svc-output.js'
import {ServiceGroups} from '../../src/svc/service-groups.js'
import type {InstanceRow} from '../../src/svc/listing.js'

type Row = {id: string; address: string; output: string; tags?: string}
const COLUMNS: Column<Row>[] = [
  {header: 'ID', value: (r) => r.id},
  {header: 'ADDRESS', value: (r) => r.address},
  {header: 'TAGS', value: (r) => r.tags, wide: true},
  {header: 'OUTPUT', value: (r) => r.output, truncate: true},
]
const ROWS: Row[] = [
  {id: 'web-1', address: '10.0.0.5:8080', output: 'HTTP GET http://10.0.0.5:8080/health: 200 OK\nall good', tags: 'a,b'},
  {id: 'web-22', address: '10.0.0.10:8080', output: 'short'},
]
const tty = (width?: number): Terminal => ({tty: true, width, colour: false})
const PIPE: Terminal = {tty: false, colour: false}

describe('renderTable on a terminal', () => {
  it('aligns columns two spaces apart under upper-case headers, without boxes or trailing spaces', () => {
    expect(renderTable(COLUMNS, ROWS, {}, tty()).split('\n')).toEqual([
      'ID      ADDRESS         OUTPUT',
      'web-1   10.0.0.5:8080   HTTP GET http://10.0.0.5:8080/health: 200 OK all good',
      'web-22  10.0.0.10:8080  short',
    ])
  })

  it.each([80, 60, 40, 33])('fits a %d-column terminal by cutting only the free-text column, with "..."', (width) => {
    const lines = renderTable(COLUMNS, ROWS, {}, tty(width)).split('\n')
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(width)
    expect(lines[1]).toMatch(/^web-1 {3}10\.0\.0\.5:8080 {3}HTTP G/)
    if (width < 78) expect(lines[1]).toMatch(/\.\.\.$/)
  })

  it('never cuts addresses or ids: a terminal too narrow for them gets long lines', () => {
    const lines = renderTable(COLUMNS, ROWS, {}, tty(20)).split('\n')
    expect(lines[2]).toBe('web-22  10.0.0.10:8080  short')
    // OUTPUT keeps at least its header's width.
    expect(lines[1]).toBe('web-1   10.0.0.5:8080   HTT...')
  })

  it('adds the wide columns with --wide and leaves out the header row with --no-headers', () => {
    const lines = renderTable(COLUMNS, ROWS, {wide: true, headers: false}, tty()).split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^web-1 {3}10\.0\.0\.5:8080 {3}a,b {2}HTTP GET/)
    expect(lines[1]).toMatch(/^web-22 {2}10\.0\.0\.10:8080 {7}short$/)
  })
})

describe('renderTable piped', () => {
  it('prints tab-separated values, nothing cut, one line per row', () => {
    expect(renderTable(COLUMNS, ROWS, {}, PIPE).split('\n')).toEqual([
      'ID\tADDRESS\tOUTPUT',
      'web-1\t10.0.0.5:8080\tHTTP GET http://10.0.0.5:8080/health: 200 OK all good',
      'web-22\t10.0.0.10:8080\tshort',
    ])
  })

  it('keeps a tab, newline or escape inside a value from breaking the columns', () => {
    const out = renderTable(COLUMNS, [{id: 'x', address: 'a\tb', output: 'one\r\ntwo\x1b[31mred'}], {headers: false}, PIPE)
    expect(out).toBe('x\ta b\tone two [31mred')
  })

  it('prints nothing for no rows (the caller says so)', () => {
    expect(renderTable(COLUMNS, [], {}, PIPE)).toBe('')
    expect(renderTable(COLUMNS, [], {}, tty(80))).toBe('')
  })
})

describe('compareAddresses', () => {
  it.each([
    ['10.5.7.0/24', '10.5.53.0/24', -1],
    ['10.5.53.0/24', '10.5.7.0/24', 1],
    ['10.5.7.0/24', '10.5.7.0/26', -1],
    ['10.0.0.9:8080', '10.0.0.10:80', -1],
    ['10.0.0.10:80', '10.0.0.10:8080', -1],
    ['192.168.1.2', '10.0.0.1', 1],
    ['10.0.0.1', 'fd00::1', -1],
    ['[fd00::2]:80', '[fd00::10]:80', -1],
    ['fd00::a', '[fd00::9]:80', 1],
    ['10.5.7.0/24 fd00:0:0:7::/64', '10.5.53.0/24 fd00:0:0:1::/64', -1],
    ['10.0.0.1', 'not-an-address', -1],
    ['zeta', 'alpha', 1],
    ['10.0.0.1', '10.0.0.1', 0],
  ])('%s vs %s -> %d', (a, b, sign) => {
    expect(Math.sign(compareAddresses(a, b))).toBe(sign)
  })

  it('sortByAddress: by a group first, then numerically, stable for equal addresses', () => {
    const rows = [
      {ns: 'b', at: '10.0.0.9:80', id: 1},
      {ns: 'a', at: '10.0.0.10:80', id: 2},
      {ns: 'a', at: '10.0.0.9:80', id: 3},
      {ns: 'a', at: '10.0.0.9:80', id: 4},
      {ns: 'a', at: 'elsewhere', id: 5},
    ]
    sortByAddress(rows, (r) => r.at, (x, y) => x.ns.localeCompare(y.ns))
    expect(rows.map((r) => r.id)).toEqual([3, 4, 2, 5, 1])
  })

  it('sortByHostPort orders address and port as sortByAddress orders their HOST:PORT text', () => {
    const hosts = ['10.0.0.9', '10.0.0.10', '9.255.255.255', '0.0.0.0', '255.255.255.255', '10.0.0.09', '1.2.3', 'fd00::1', '::ffff:10.0.0.9', '::', 'fe80::1%eth0', 'elsewhere.example', '', '10.0.0.9 ']
    const rows = hosts.flatMap((host, i) => [80, 8080, 79, 0].map((port, j) => ({host, port, id: i * 4 + j})))
    // a fixed shuffle, so neither sort starts from the answer
    const shuffled = rows.map((row, i) => ({row, at: (i * 7919) % rows.length})).sort((a, b) => a.at - b.at).map((x) => x.row)
    const byText = sortByAddress(shuffled.slice(), (r) => hostPort(r.host, r.port)).map((r) => r.id)
    expect(sortByHostPort(shuffled.slice(), (r) => r.host, (r) => r.port).map((r) => r.id)).toEqual(byText)
    expect(byText.slice(0, 4).map((id) => rows[id]!.host)).toEqual(['0.0.0.0', '0.0.0.0', '0.0.0.0', '0.0.0.0'])
  })

  it('services as forEachService hands them on, each sorted by sortServiceRows, are in the order of the full sort', () => {
    const row = (namespace: string, name: string, id: string, address: string, port = 80) => ({namespace, name, id, address, port}) as InstanceRow
    // in etcd's key order: "a/web-x/" before "a/web/"
    const listed = [
      row('a', 'web-x', 'i1', '10.0.0.1'),
      row('a', 'web', 'i1', '10.0.0.10'),
      row('a', 'web', 'i2', '10.0.0.9'),
      row('a', 'web', 'i3', '10.0.0.9'),
      row('a', 'web', 'i4', '10.0.0.9', 79),
      row('a', 'web', 'i5', 'fd00::1'),
      row('a', 'web', 'i6', 'elsewhere.example'),
      row('b', 'db', 'i1', '10.0.0.3'),
      row('b', 'db', 'i2', '10.0.0.2'),
      row('c', 'one', 'i1', '10.0.0.1'),
    ]
    const full = (rows: InstanceRow[]) => sortByAddress(rows.slice(), (r) => hostPort(r.address, r.port), (x, y) => (x.namespace < y.namespace ? -1 : x.namespace > y.namespace ? 1 : x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    const ids = (rows: InstanceRow[]) => rows.map((r) => `${r.namespace}/${r.name}/${r.id}`)
    const shown: InstanceRow[] = []
    const groups = new ServiceGroups<InstanceRow>((service) => shown.push(...sortServiceRows(service)))
    for (const r of listed) groups.add(`${r.namespace}/${r.name}`, r)
    groups.end()
    expect(ids(shown)).toEqual(ids(full(listed)))
    expect(ids(shown).slice(0, 7)).toEqual(['a/web/i4', 'a/web/i2', 'a/web/i3', 'a/web/i1', 'a/web/i5', 'a/web/i6', 'a/web-x/i1'])
    expect(sortServiceRows([])).toEqual([])
  })

  it('sortServiceRows sorts one service of 150,000 instances (no argument list that size)', () => {
    const rows = Array.from({length: 150_000}, (_, i) => ({namespace: 'a', name: 'big', id: `i${i}`, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 80}) as InstanceRow)
    rows.reverse()
    const sorted = sortServiceRows(rows)
    expect([sorted.length, sorted[0]!.address, sorted.at(-1)!.address]).toEqual([150_000, '10.0.0.0', '10.2.73.239'])
  })

  it('sorts subnets numerically, not as text', () => {
    expect(['10.5.53.0/24', '10.5.100.0/24', '10.5.7.0/24', '10.5.9.0/24'].sort(compareAddresses)).toEqual(['10.5.7.0/24', '10.5.9.0/24', '10.5.53.0/24', '10.5.100.0/24'])
  })
})

describe('renderRecord', () => {
  it('aligns keys, leaves absent values blank and joins lists', () => {
    expect(
      renderRecord(
        [
          ['subnet', '10.5.7.0/24'],
          ['public IPv6', null],
          ['host', undefined],
          ['tags', ['a', 'b']],
          ['reserved', false],
          ['port', 8472],
          ['output', 'line one\nline two'],
        ],
        {colour: false},
      ).split('\n'),
    ).toEqual(['subnet       10.5.7.0/24', 'public IPv6', 'host', 'tags         a, b', 'reserved     false', 'port         8472', 'output       line one line two'])
  })

  it('cellText: absent is blank, whitespace runs are one space', () => {
    expect([cellText(null), cellText(undefined), cellText(0), cellText('  a \n\t b  ')]).toEqual(['', '', '0', 'a b'])
  })
})
