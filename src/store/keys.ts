/**
 * Every etcd key cnet reads or writes is spelled here and nowhere else.
 *
 * The network part follows flannel (`<prefix>/config`, `<prefix>/subnets/<ip>-<len>`)
 * so flannel and cnet hosts can share a cluster network. Services and health live
 * under cnet's own root.
 */
export const DEFAULT_NETWORK_PREFIX = '/coreos.com/network'
export const DEFAULT_CNET_PREFIX = '/cnet'

export interface KeyRoots {
  networkPrefix: string
  cnetPrefix: string
}

const trimSlash = (path: string) => path.replace(/\/+$/, '')
const SLASH = 0x2f

export class Keys {
  readonly networkPrefix: string
  readonly cnetPrefix: string

  /** Made once: subnetNameOf compares it with each of 10,000 keys, and a string made anew each time is flattened anew. */
  private readonly subnets: string

  constructor(roots: Partial<KeyRoots> = {}) {
    this.networkPrefix = trimSlash(roots.networkPrefix ?? DEFAULT_NETWORK_PREFIX)
    this.cnetPrefix = trimSlash(roots.cnetPrefix ?? DEFAULT_CNET_PREFIX)
    this.subnets = `${this.networkPrefix}/subnets/`
  }

  networkConfig(): string {
    return `${this.networkPrefix}/config`
  }

  /** The prefix under which every subnet lease lives (with the trailing slash). */
  subnetsPrefix(): string {
    return this.subnets
  }

  /** `name` is flannel's lease name, e.g. `10.5.52.0-24` or `10.42.1.0-24&2001:cafe:42:1::-64`. */
  subnet(name: string): string {
    return this.subnetsPrefix() + name
  }

  /** The lease name at the end of a subnet key, or undefined for a key outside the prefix. */
  subnetNameOf(key: string): string | undefined {
    return key.startsWith(this.subnets) ? key.slice(this.subnets.length) : undefined
  }

  servicesPrefix(namespace?: string, name?: string): string {
    return this.scoped('services', namespace, name)
  }

  service(namespace: string, name: string, id: string): string {
    return `${this.cnetPrefix}/services/${namespace}/${name}/${id}`
  }

  healthPrefix(namespace?: string, name?: string): string {
    return this.scoped('health', namespace, name)
  }

  health(namespace: string, name: string, id: string): string {
    return `${this.cnetPrefix}/health/${namespace}/${name}/${id}`
  }

  /**
   * The per-node index of registrations: a copy of each registration under the node
   * whose prober runs its check, written and removed in the same transaction as the
   * registration (and under the same lease), so a prober lists and watches only its own
   * node's instances instead of the whole fleet's.
   */
  nodeIndexPrefix(node?: string): string {
    return node === undefined ? `${this.cnetPrefix}/nodes/` : `${this.cnetPrefix}/nodes/${node}/`
  }

  nodeIndex(node: string, namespace: string, name: string, id: string): string {
    return `${this.cnetPrefix}/nodes/${node}/${namespace}/${name}/${id}`
  }

  /** Splits a node index key into its parts; undefined when it is not one. */
  nodeIndexOf(key: string): {node: string; namespace: string; name: string; id: string} | undefined {
    const root = `${this.cnetPrefix}/nodes/`
    if (!key.startsWith(root)) return undefined
    const parts = key.slice(root.length).split('/')
    if (parts.length !== 4 || parts.some((p) => p === '')) return undefined
    const [node, namespace, name, id] = parts as [string, string, string, string]
    return {node, namespace, name, id}
  }

  /** Which layout version of cnet's keys this etcd holds (so an upgrade migrates once). */
  schema(): string {
    return `${this.cnetPrefix}/schema`
  }

  /** Splits a service or health key into its parts (none empty, as instanceIdentOf and nodeIndexOf); undefined when it is not one. */
  instanceOf(key: string): {kind: 'services' | 'health'; namespace: string; name: string; id: string} | undefined {
    const root = `${this.cnetPrefix}/`
    if (!key.startsWith(root)) return undefined
    const parts = key.slice(root.length).split('/')
    if (parts.length !== 4 || (parts[0] !== 'services' && parts[0] !== 'health') || parts.includes('')) return undefined
    const [kind, namespace, name, id] = parts as ['services' | 'health', string, string, string]
    return {kind, namespace, name, id}
  }

  /**
   * "<namespace>/<name>/<id>" of a service or health key (none of the three empty):
   * what joins an instance's registration and health. The key's own tail, found without
   * splitting it: a fleet's listing asks this of 200,000 keys.
   */
  instanceIdentOf(key: string): string | undefined {
    const root = this.cnetPrefix.length + 1
    if (!key.startsWith(this.cnetPrefix) || key.charCodeAt(root - 1) !== SLASH) return undefined
    const start = key.startsWith('services/', root) ? root + 9 : key.startsWith('health/', root) ? root + 7 : -1
    return start >= 0 && isIdentAt(key, start) ? key.slice(start) : undefined
  }

  private scoped(kind: string, namespace?: string, name?: string): string {
    let key = `${this.cnetPrefix}/${kind}/`
    if (namespace !== undefined) key += `${namespace}/`
    if (namespace !== undefined && name !== undefined) key += `${name}/`
    return key
  }
}

/**
 * Whether `text` from `start` on is an instance's ident, "<namespace>/<name>/<id>" with
 * none of the three empty: how a reader of the services or health prefix, given each
 * key's tail (KeyValues.forEachBytes with the prefix's length), tells registrations and
 * health records from other keys.
 */
export function isIdentAt(text: string, start = 0): boolean {
  const first = text.indexOf('/', start)
  const second = first < 0 ? -1 : text.indexOf('/', first + 1)
  // three parts, none empty, no fourth
  return first > start && second > first + 1 && second !== text.length - 1 && text.indexOf('/', second + 1) < 0
}
