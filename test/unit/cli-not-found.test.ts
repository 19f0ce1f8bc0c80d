import {afterEach, beforeEach, describe, expect, it, jest} from '@jest/globals'
import hook from '../../src/cli/hooks/command-not-found.js'

/** Just enough of oclif's Config for the hook: the commands and topics, and running a command. */
function fakeConfig(ran: [string, string[]][]) {
  const ids = ['network:init', 'network:show', 'svc:register', 'svc:list', 'autocomplete:script']
  return {
    bin: 'cnet',
    commands: ids.map((id) => ({id, hidden: id === 'autocomplete:script'})),
    topics: [{name: 'network'}, {name: 'svc'}, {name: 'autocomplete', hidden: true}],
    findCommand: (id: string) => (ids.includes(id) ? {id} : undefined),
    runCommand: async (id: string, argv: string[]) => {
      ran.push([id, argv])
      return 'ran'
    },
  }
}

class Exit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`)
  }
}

describe('command not found', () => {
  let stdout: string
  let stderr: string
  beforeEach(() => {
    stdout = ''
    stderr = ''
    jest.spyOn(process.stdout, 'write').mockImplementation((text) => ((stdout += String(text)), true))
    jest.spyOn(process.stderr, 'write').mockImplementation((text) => ((stderr += String(text)), true))
  })
  afterEach(() => {
    jest.restoreAllMocks()
  })

  const run = async (id: string, argv: string[] = []) => {
    const ran: [string, string[]][] = []
    const context = {exit: (code: number) => {
      throw new Exit(code)
    }}
    let exit: number | undefined
    let result: unknown
    try {
      result = await (hook as unknown as (this: unknown, o: unknown) => Promise<unknown>).call(context, {id, argv, config: fakeConfig(ran)})
    } catch (error) {
      if (!(error instanceof Exit)) throw error
      exit = error.status
    }
    return {ran, exit, result}
  }

  it('runs a command followed by extra words with them as its arguments, for its parser to refuse', async () => {
    expect(await run('network:show:extra-arg', ['--json'])).toEqual({ran: [['network:show', ['extra-arg', '--json']]], exit: undefined, result: 'ran'})
  })

  it('names the nearest command in cnet words, exit 2', async () => {
    expect((await run('netwrk:show')).exit).toBe(2)
    expect(stderr).toBe('cnet: "netwrk show" is not a cnet command (did you mean "network show"? see cnet help)\n')
    expect(stdout).toBe('')
  })

  it('suggests nothing far off, and never a hidden command', async () => {
    await run('autocomplete:scrip')
    expect(stderr).toBe('cnet: "autocomplete scrip" is not a cnet command (see cnet help)\n')
  })

  it('with --json: one error document on stdout as well', async () => {
    await run('svc:regster:web', ['--json'])
    expect(JSON.parse(stdout)).toEqual({error: {code: 'UsageError', message: '"svc regster" is not a cnet command (did you mean "svc register"? see cnet help)', exitCode: 2}})
  })
})
