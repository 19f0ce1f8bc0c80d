import {afterEach, describe, expect, it} from '@jest/globals'
import {colourEnabled} from '../../src/cli/output.js'
import {createLogger, logfmtValue, textLine} from '../../src/lib/log.js'

describe('logger', () => {
  it('writes one JSON object per line with level, component and fields', () => {
    const lines: string[] = []
    const logger = createLogger({format: 'json', component: 'vxlan', sink: (l) => lines.push(l)})
    logger.info('peer added', {subnet: '10.5.52.0/24'})
    const parsed = JSON.parse(lines[0])
    expect(parsed).toMatchObject({level: 'info', component: 'vxlan', msg: 'peer added', subnet: '10.5.52.0/24'})
    expect(typeof parsed.time).toBe('string')
  })

  it('drops lines under its level and names children by component', () => {
    const lines: string[] = []
    const logger = createLogger({level: 'warn', sink: (l) => lines.push(l)})
    logger.info('hidden')
    logger.child('dns/forward').warn('upstream down', {upstream: '127.0.0.1:53'})
    expect(lines).toEqual(['WARN  dns/forward: upstream down upstream=127.0.0.1:53'])
  })
})

describe('text log lines (logfmt values)', () => {
  it.each<[unknown, string]>([
    ['plain', 'plain'],
    ['two words', '"two words"'],
    ['', '""'],
    ['say "hi"', '"say \\"hi\\""'],
    ['a=b', '"a=b"'],
    ['HTTP 500\nInternal Server Error\n', '"HTTP 500\\nInternal Server Error\\n"'],
    ['tab\there', '"tab\\there"'],
    ['C:\\dir', '"C:\\\\dir"'],
    [42, '42'],
    [true, 'true'],
    [null, 'null'],
    [['a', 'b'], '"[\\"a\\",\\"b\\"]"'],
    [new Error('connect ECONNREFUSED 127.0.0.1:2379'), '"connect ECONNREFUSED 127.0.0.1:2379"'],
  ])('%j -> %s', (value, text) => {
    expect(logfmtValue(value)).toBe(text)
  })

  it('keeps every record on one line, whatever its message and values hold', () => {
    const line = textLine('warn', 'health', 'check failed\nbadly', {id: 'web-1', output: 'HTTP 503\nbody: "down"', missing: undefined})
    expect(line).toBe('WARN  health: check failed\\nbadly id=web-1 output="HTTP 503\\nbody: \\"down\\""')
    expect(line).not.toContain('\n')
  })

  it('writes an Error field as its message in JSON too', () => {
    const lines: string[] = []
    createLogger({format: 'json', sink: (l) => lines.push(l)}).error('failed', {error: new Error('boom')})
    expect(JSON.parse(lines[0])).toMatchObject({msg: 'failed', error: 'boom'})
  })
})

describe('colour', () => {
  const isTTY = process.stdout.isTTY
  const noColor = process.env.NO_COLOR
  afterEach(() => {
    process.stdout.isTTY = isTTY
    if (noColor === undefined) delete process.env.NO_COLOR
    else process.env.NO_COLOR = noColor
  })

  it('is on only for a terminal without NO_COLOR', () => {
    process.stdout.isTTY = true
    delete process.env.NO_COLOR
    expect(colourEnabled()).toBe(process.env.TERM !== 'dumb')
    process.env.NO_COLOR = '1'
    expect(colourEnabled()).toBe(false)
    delete process.env.NO_COLOR
    process.stdout.isTTY = false
    expect(colourEnabled()).toBe(false)
  })
})
