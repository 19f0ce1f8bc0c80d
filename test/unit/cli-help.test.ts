import {describe, expect, it} from '@jest/globals'
import {Args, Flags} from '@oclif/core'
import {usageLine} from '../../src/cli/help.js'

describe('the usage line of help', () => {
  it.each([
    [{args: {name: Args.string({required: true})}, flags: {address: Flags.string({required: true}), port: Flags.string({required: true}), id: Flags.string()}}, '<%= command.id %> NAME --address <value> --port <value> [FLAGS]'],
    [{args: {name: Args.string()}, flags: {passing: Flags.boolean()}}, '<%= command.id %> [NAME] [FLAGS]'],
    [{args: {}, flags: {force: Flags.boolean({required: true}), secret: Flags.string({hidden: true})}}, '<%= command.id %> --force'],
    [{args: {}, flags: {}}, '<%= command.id %>'],
  ])('%#: %s', (command, line) => {
    const named = (o: Record<string, {name?: string}>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, {...v, name: k}]))
    expect(usageLine({args: named(command.args), flags: named(command.flags)} as never)).toBe(line)
  })
})
