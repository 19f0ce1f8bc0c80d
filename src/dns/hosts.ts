import {isIP} from 'node:net'
import type {HostEntry} from './serve-options.js'

/**
 * The config file's `hosts`: fixed names answered authoritatively with their A and
 * AAAA records, and PTR from each address back to its names (as /etc/hosts and
 * CoreDNS's hosts plugin do).
 */
export class StaticHosts {
  private readonly names = new Map<string, {v4: string[]; v6: string[]}>()
  private readonly reverse = new Map<string, string[]>()

  constructor(entries: readonly HostEntry[] = []) {
    for (const {name, addresses} of entries) {
      const record = {v4: addresses.filter((a) => isIP(a) === 4), v6: addresses.filter((a) => isIP(a) === 6)}
      this.names.set(name, record)
      for (const address of addresses) {
        const names = this.reverse.get(address) ?? []
        if (!names.includes(name)) names.push(name)
        this.reverse.set(address, names)
      }
    }
  }

  get size(): number {
    return this.names.size
  }

  /** The addresses of a (lower-cased, dotless) name, or undefined when it is not a host entry. */
  lookup(name: string): {v4: string[]; v6: string[]} | undefined {
    return this.names.get(name)
  }

  /** The names an address (canonical text) has in the hosts entries. */
  namesAt(address: string): readonly string[] | undefined {
    return this.reverse.get(address)
  }
}
