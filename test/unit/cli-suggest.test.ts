import {describe, expect, it} from '@jest/globals'
import {closest, editDistance, suggestCommand} from '../../src/cli/suggest.js'

const KNOWN = ['network:init', 'network:show', 'subnet:list', 'subnet:show', 'svc:register', 'svc:resolve', 'network', 'subnet', 'svc', 'help', 'version']

describe('did you mean', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['kitten', 'sitting', 3],
    ['netwrk', 'network', 1],
    ['svc:regster', 'svc:register', 1],
  ])('editDistance(%j, %j) = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })

  it.each<[string, string | undefined]>([
    ['netwrk:show', 'network:show'],
    ['network:shwo', 'network:show'],
    ['subnet:lsit', 'subnet:list'],
    ['svc:regster', 'svc:register'],
    ['netwrk', 'network'],
    ['verison', 'version'],
    ['foo', undefined],
    ['deploy:everything', undefined],
  ])('%s -> %s', (typed, suggestion) => {
    expect(closest(typed, KNOWN)).toBe(suggestion)
  })
})

describe('which words were the command', () => {
  it.each<[string[], string[], string | undefined]>([
    [['netwrk', 'show'], ['netwrk', 'show'], 'network:show'],
    [['svc', 'regster', 'web'], ['svc', 'regster'], 'svc:register'],
    [['network', 'shwo', 'extra', 'args'], ['network', 'shwo'], 'network:show'],
    [['sbnet', 'list'], ['sbnet', 'list'], 'subnet:list'],
    [['deploy', 'now'], ['deploy', 'now'], undefined],
  ])('%j: %j meant %s', (words, typed, suggestion) => {
    expect(suggestCommand(words, KNOWN)).toEqual(suggestion ? {typed, suggestion} : {typed})
  })
})
