import {afterEach, describe, expect, it} from '@jest/globals'
import {colourEnabled} from '../../src/cli/output.js'
import {createLogger} from '../../src/lib/log.js'

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
