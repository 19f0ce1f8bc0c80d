/**
 * What every command prints with --json, as data: docs/reference.md is generated from
 * it (scripts/docs/reference.ts), and test/integration/json-shapes.integration.test.ts
 * and test/e2e/json-shapes.e2e.test.ts check the real output of every command against
 * it. A field added to a result type must be added here, or those tests fail.
 */
import {ERROR_CODES} from '../../src/cli/failure.js'
import {
  type Shape,
  anyJson,
  arrayOf,
  bool,
  extend,
  mapOf,
  named,
  noted,
  nullable,
  num,
  object,
  oneOf,
  numberOf,
  optional,
  sampledUnion,
  str,
  union,
} from './shape.js'

export interface JsonOutput {
  /** How the output is told apart in the tests, e.g. "one" and "file". */
  name: string
  /**
   * When this document is printed, for a command that prints more than one kind, read
   * after "With --json": " for one instance", " and --file", ", on exit".
   */
  when?: string
  shape: Shape
  /** A stream: one document per line, not one document. */
  lines?: boolean
}

/** The test files that check real output against the shapes (test/helpers/json-shapes.ts). */
export const SHAPES_INTEGRATION = 'test/integration/json-shapes.integration.test.ts'
export const SHAPES_LAB = 'test/e2e/lab.e2e.test.ts'
export const SHAPES_OVERLAY = 'test/e2e/vxlan.e2e.test.ts'

export interface CommandJson {
  /**
   * The test file that runs the command for real and checks its output against these
   * shapes: the integration tier (a real etcd) or the e2e tier (root, namespaces).
   */
  checkedBy: string
  /** What --json prints; empty for a daemon that prints no document. */
  outputs: JsonOutput[]
  /** Said in the reference under the shapes. */
  note?: string
}

// ------------------------------------------------------------------ shared shapes

const healthStatus = oneOf('passing', 'warning', 'critical')
const maintenance = named('Maintenance', object({reason: str, since: noted(str, 'ISO 8601')}))

const timing = {
  intervalMs: num,
  timeoutMs: num,
  successBeforePassing: num,
  failuresBeforeCritical: num,
  deregisterCriticalAfterMs: optional(num, 'with --deregister-critical-after'),
}
const checkDefinition = named(
  'CheckDefinition',
  union(
    object({type: oneOf('http'), url: str, method: str, headers: mapOf(arrayOf(str)), tlsSkipVerify: bool, ...timing}),
    object({type: oneOf('tcp'), address: noted(str, 'HOST:PORT'), ...timing}),
    object({type: oneOf('exec'), args: arrayOf(str), ...timing}),
    object({type: oneOf('ttl'), ttlMs: num, deregisterCriticalAfterMs: optional(num, 'with --deregister-critical-after')}),
  ),
)

const healthRecordFields = {
  status: healthStatus,
  output: noted(str, 'at most 4 KB'),
  since: noted(str, 'when the status last changed (ISO 8601)'),
  checkedAt: str,
  prober: noted(str, 'the node whose prober wrote it, or "register" for an --initial-status'),
}

const ttlUpdateResult = named(
  'TtlUpdateResult',
  object({...healthRecordFields, id: str, key: str, ttlSeconds: noted(num, "the check's TTL: the record expires after it")}),
)

const instanceRow = named(
  'InstanceRow',
  object({
    namespace: str,
    name: str,
    id: str,
    address: str,
    port: num,
    portName: nullable(str),
    protocol: oneOf('tcp', 'udp'),
    tags: arrayOf(str),
    meta: mapOf(str),
    weight: num,
    node: noted(str, 'whose prober runs the check'),
    check: noted(nullable(oneOf('http', 'tcp', 'exec', 'ttl')), 'the check type; null without a check'),
    status: noted(healthStatus, 'effective: critical while in maintenance or without a fresh result'),
    maintenance: nullable(maintenance),
    output: noted(str, "the last check's output"),
    since: noted(nullable(str), 'when the status last changed; null without a check or a result'),
    checkedAt: nullable(str),
    prober: nullable(str),
  }),
)

const registerResult = named(
  'RegisterResult',
  object({
    key: str,
    id: str,
    name: str,
    namespace: str,
    node: str,
    action: oneOf('created', 'updated', 'unchanged'),
    healthKept: noted(bool, 'a health record was already there and was left alone'),
    initialStatus: nullable(healthStatus),
    leaseTtlSeconds: noted(nullable(num), 'with --lease-ttl'),
  }),
)

const deregisterResult = named(
  'DeregisterResult',
  object({id: str, name: str, namespace: str, key: str, action: noted(oneOf('removed', 'absent'), 'absent: not registered (--file only)'), healthRemoved: bool}),
)

const networkConfig = named(
  'NetworkConfig',
  object({
    Network: optional(str, 'the IPv4 network; absent when EnableIPv4 is false'),
    SubnetLen: optional(num, 'with Network'),
    SubnetMin: optional(str, 'with Network'),
    SubnetMax: optional(str, 'with Network'),
    EnableIPv4: bool,
    EnableIPv6: bool,
    IPv6Network: optional(str, 'with EnableIPv6'),
    IPv6SubnetLen: optional(num, 'with EnableIPv6'),
    IPv6SubnetMin: optional(str, 'with EnableIPv6'),
    IPv6SubnetMax: optional(str, 'with EnableIPv6'),
    Backend: union(
      object({
        Type: oneOf('vxlan'),
        VNI: num,
        Port: noted(num, '8472 when the config says 0'),
        MTU: noted(num, '0: the underlay MTU minus the VXLAN overhead'),
        GBP: bool,
        Learning: bool,
        DirectRouting: bool,
      }),
      object({Type: oneOf('host-gw')}),
    ),
  }),
)

const leaseRow = named(
  'LeaseRow',
  object({
    subnet: noted(str, 'both subnets, space-separated, for a dual-stack lease; the key name for an invalid one'),
    publicIp: nullable(str),
    publicIpv6: nullable(str),
    vtepMac: noted(nullable(str), "the IPv4 device's (the IPv6 one's for an IPv6-only lease); null under host-gw"),
    vtepMacV6: noted(nullable(str), "the IPv6 device's, under dual stack"),
    hostName: nullable(str),
    expiresInSeconds: optional(nullable(num), 'subnet show always; subnet list with --expiry. null for a reservation'),
    reserved: bool,
    valid: noted(bool, 'false: the key or value does not parse as a lease'),
    key: str,
  }),
)

const labReport = named(
  'LabReport',
  object({
    nodes: arrayOf(object({name: str, namespace: str, publicIp: str, subnet: str})),
    pods: arrayOf(object({name: str, node: str, namespace: str, address: str})),
    services: arrayOf(object({id: str, node: str, address: str, status: str})),
    daemons: arrayOf(object({name: str, pid: optional(num, 'when its PID file was found'), running: bool})),
    proofs: object({
      crossNodeFetch: object({ok: bool, detail: str, from: str, to: str}),
      dnsResolve: object({ok: bool, detail: str, name: str, addresses: arrayOf(str)}),
      allHealthyAddresses: object({ok: bool, detail: str, expected: arrayOf(str), got: arrayOf(str)}),
    }),
    proved: noted(bool, 'every proof passed'),
    durationMs: num,
  }),
)

// ------------------------------------------------------------------ per command

// ------------------------------------------------------------------ the overlay

const family = numberOf(4, 6)
const rejectedLease = named(
  'RejectedLease',
  object({name: noted(str, 'the lease key name'), reason: str, family: optional(family, 'when only that family of the lease is left out')}),
)
const sharedMac = named('SharedMac', object({family, mac: str, leases: noted(arrayOf(str), 'lease key names')}))
const deviceSpec = named(
  'DeviceSpec',
  object({name: str, vni: num, port: num, local: noted(str, 'the underlay address VXLAN packets leave from'), underlay: str, mac: str, mtu: num}),
)
const routeEntry = named('RouteEntry', object({dst: str, via: str, dev: str, onlink: bool, nhid: optional(num, 'the nexthop object an IPv4 overlay route goes through, where the kernel has them')}))
const operation = named(
  'Operation',
  sampledUnion(
    object({op: oneOf('device-create'), device: deviceSpec, reason: str}),
    object({op: oneOf('device-delete'), name: str, reason: str}),
    object({op: oneOf('device-set'), name: str, mac: optional(str, 'when it changes'), mtu: optional(num, 'when it changes'), reason: str}),
    object({op: oneOf('device-up'), name: str}),
    object({op: oneOf('address-add', 'address-del'), dev: str, address: str}),
    object({op: oneOf('neigh-replace'), dev: str, ip: str, mac: str}),
    object({op: oneOf('neigh-del'), dev: str, ip: str}),
    object({op: oneOf('fdb-replace', 'fdb-del'), dev: str, mac: str, dst: str}),
    object({op: oneOf('route-replace', 'route-del'), route: routeEntry}),
  ),
)
const actualDevice = named(
  'ActualDevice',
  object({
    name: str,
    vni: optional(num, 'a VXLAN device'),
    port: optional(num, 'a VXLAN device'),
    local: optional(str, 'a VXLAN device with a local address'),
    underlay: optional(str, 'a VXLAN device bound to an interface'),
    mac: optional(str, 'when it has one'),
    mtu: optional(num, 'when the kernel gives it'),
    up: bool,
    isVxlan: noted(bool, 'false for a link of that name that is not VXLAN'),
  }),
)
const deviceStatus = named('DeviceStatus', object({name: str, exists: bool, up: bool, desired: deviceSpec, actual: noted(nullable(actualDevice), 'null when missing')}))
const overlayUp = object({
  backend: oneOf('vxlan', 'host-gw'),
  device: noted(nullable(str), "the first family's device (IPv4's unless IPv6-only); null under host-gw"),
  subnet: str,
  publicIp: str,
  underlay: noted(str, 'the underlay interface'),
  mtu: num,
  peers: noted(num, 'leases programmed as peers (a dual-stack lease counts once)'),
  families: arrayOf(object({family, device: nullable(str), subnet: str, publicIp: str, mtu: num, peers: num})),
  rejected: arrayOf(rejectedLease),
  sharedMacs: arrayOf(sharedMac),
  operations: noted(arrayOf(operation), 'planned, in order of application'),
  iptables: noted(nullable(str), 'the iptables-restore --noflush input planned for --ip-masq; null when the rules are right'),
  ip6tables: noted(nullable(str), 'the same for ip6tables-restore'),
  applied: noted(num, 'kernel operations plus one per iptables transaction; 0 with --dry-run'),
  dryRun: bool,
})

export const JSON_SHAPES: Record<string, CommandJson> = {
  'network init': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {
        name: 'one',
        shape: object({
          config: networkConfig,
          stored: noted(mapOf(anyJson), 'the JSON written to <prefix>/config, as given'),
          action: oneOf('created', 'replaced', 'unchanged'),
        }),
      },
    ],
  },
  'network show': {checkedBy: SHAPES_INTEGRATION, outputs: [{name: 'one', shape: networkConfig}]},

  'subnet lease': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {
        name: 'one',
        shape: object({
          subnet: str,
          ipv6Subnet: optional(str, 'with IPv6 enabled'),
          publicIp: noted(str, '0.0.0.0 under an IPv6-only config, as flannel writes it'),
          publicIpv6: optional(nullable(str), 'with IPv6 enabled; null when this host has none'),
          backend: oneOf('vxlan', 'host-gw'),
          vtepMac: noted(nullable(str), "the IPv4 device's MAC; null under host-gw or IPv6 only"),
          vtepMacV6: optional(str, "with IPv6 enabled and vxlan: the IPv6 device's MAC"),
          hostName: str,
          key: noted(str, 'the etcd key'),
          ttlSeconds: noted(nullable(num), 'null for a reservation'),
          action: oneOf('created', 'reused'),
          subnetFile: str,
        }),
      },
    ],
    note: 'With --keep the document is printed as soon as the lease is held, and nothing more on exit.',
  },
  'subnet list': {checkedBy: SHAPES_INTEGRATION, outputs: [{name: 'one', shape: arrayOf(leaseRow)}]},
  'subnet show': {checkedBy: SHAPES_INTEGRATION, outputs: [{name: 'one', shape: leaseRow}]},
  'subnet release': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [{name: 'one', shape: object({subnet: str, key: noted(nullable(str), 'null when the subnet was not leased'), released: bool})}],
  },
  'subnet reserve': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {
        name: 'one',
        shape: object({
          subnet: str,
          ipv6Subnet: optional(str, 'with IPv6 enabled'),
          key: str,
          publicIp: str,
          publicIpv6: optional(nullable(str), 'with IPv6 enabled'),
        }),
      },
    ],
  },

  'svc register': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {name: 'one', when: ' for one instance (NAME and flags)', shape: registerResult},
      {name: 'file', when: ' and `--file`', shape: arrayOf(registerResult)},
    ],
    note: 'With --lease-ttl the document is printed as soon as the instances are registered, and nothing more on exit.',
  },
  'svc deregister': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {name: 'one', when: ' for one instance (ID)', shape: deregisterResult},
      {name: 'file', when: ' and `--file`', shape: arrayOf(deregisterResult)},
    ],
  },
  'svc list': {checkedBy: SHAPES_INTEGRATION, outputs: [{name: 'one', shape: arrayOf(instanceRow)}]},
  'svc show': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {
        name: 'one',
        shape: extend(instanceRow, {
          checkDefinition: nullable(checkDefinition),
          registeredAt: str,
          key: str,
          lease: noted(nullable(str), 'the etcd lease the registration lives under (svc register --lease-ttl)'),
        }),
      },
    ],
  },
  'svc resolve': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [{name: 'one', shape: arrayOf(object({id: str, address: str, port: num, status: healthStatus, weight: num, node: str, tags: arrayOf(str)}))}],
    note: 'In the order picked: the first is the one to use.',
  },
  'svc maint': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {
        name: 'one',
        shape: object({id: str, name: str, namespace: str, key: str, action: oneOf('enabled', 'disabled', 'updated', 'unchanged'), maintenance: nullable(maintenance)}),
      },
    ],
  },
  'svc watch': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {
        name: 'set',
        lines: true,
        shape: object({
          namespace: str,
          name: str,
          instances: arrayOf(
            object({id: str, address: str, port: num, status: oneOf('passing', 'warning'), weight: num, node: str, tags: arrayOf(str), meta: mapOf(str)}),
          ),
          at: noted(str, 'when it was printed (ISO 8601)'),
        }),
      },
    ],
    note: 'One line per healthy set: at start and after each change.',
  },

  'health check': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [{name: 'one', shape: object({status: healthStatus, output: str})}],
    note: 'Printed whatever the status; the exit code is 0 passing, 1 warning, 2 critical.',
  },
  'health pass': {checkedBy: SHAPES_INTEGRATION, outputs: [{name: 'one', shape: ttlUpdateResult}]},
  'health warn': {checkedBy: SHAPES_INTEGRATION, outputs: [{name: 'one', shape: ttlUpdateResult}]},
  'health fail': {checkedBy: SHAPES_INTEGRATION, outputs: [{name: 'one', shape: ttlUpdateResult}]},
  'health run': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {
        name: 'one',
        when: ', on exit (SIGTERM/SIGINT)',
        shape: object({
          instances: num,
          probes: num,
          writes: num,
          droppedWrites: noted(num, "results not written: the instance had left this node's index"),
          pendingWrites: num,
          skipped: num,
          running: num,
          queued: num,
          watchEvents: noted(num, "per-node index events: this node's instances only"),
          errors: noted(num, 'failures other than etcd being away'),
        }),
      },
    ],
  },

  'dns serve': {checkedBy: SHAPES_INTEGRATION, outputs: [], note: 'nothing: a daemon prints no document (its logs go to stderr); with --json a failure is an error document.'},

  'cni install': {
    checkedBy: SHAPES_INTEGRATION,
    outputs: [
      {
        name: 'one',
        shape: object({
          confFile: str,
          pluginFile: str,
          written: noted(arrayOf(str), 'files this run wrote; empty when all was in place'),
          missingPlugins: noted(arrayOf(str), 'reference plugins found in none of searchedDirs'),
          searchedDirs: arrayOf(str),
        }),
      },
    ],
  },

  'lab up': {checkedBy: SHAPES_LAB, outputs: [{name: 'one', shape: labReport}]},
  'lab status': {
    checkedBy: SHAPES_LAB,
    outputs: [{name: 'one', shape: extend(labReport, {restarted: noted(arrayOf(str), 'the processes found dead and started again, as node/name')})}],
  },
  'lab down': {
    checkedBy: SHAPES_LAB,
    outputs: [{name: 'one', shape: object({stoppedDaemons: num, removedNamespaces: arrayOf(str), removedLinks: arrayOf(str), removedStateDir: bool})}],
  },

  'vxlan up': {
    checkedBy: SHAPES_OVERLAY,
    outputs: [
      {name: 'one', shape: overlayUp},
      {name: 'watch', when: ' and `--watch`, on exit (SIGTERM/SIGINT)', shape: object({resyncs: num, changes: num, failures: noted(num, 'failed attempts that were retried')})},
    ],
  },
  'vxlan status': {
    checkedBy: SHAPES_OVERLAY,
    outputs: [
      {
        name: 'one',
        shape: object({
          backend: oneOf('vxlan', 'host-gw'),
          device: noted(nullable(deviceStatus), "the first family's device; null under host-gw"),
          subnet: str,
          address: noted(nullable(str), "the device's address; null under host-gw"),
          families: arrayOf(object({family, subnet: str, address: nullable(str), device: nullable(deviceStatus)})),
          peers: arrayOf(
            object({
              lease: str,
              family,
              subnet: str,
              publicIp: str,
              vtepMac: noted(nullable(str), 'null under host-gw'),
              hostName: nullable(str),
              state: oneOf('programmed', 'direct', 'missing', 'partial'),
            }),
          ),
          rejected: arrayOf(rejectedLease),
          sharedMacs: arrayOf(sharedMac),
          drift: noted(arrayOf(operation), 'what vxlan up would apply now'),
          inSync: bool,
        }),
      },
    ],
  },
  'vxlan down': {
    checkedBy: SHAPES_OVERLAY,
    outputs: [
      {
        name: 'one',
        shape: object({
          device: noted(nullable(str), 'the first device; null when there is none (host-gw)'),
          deviceRemoved: bool,
          devices: arrayOf(object({name: str, removed: bool})),
          routesRemoved: noted(num, 'direct-routing and host-gw routes removed from other interfaces'),
          iptablesRemoved: bool,
        }),
      },
    ],
  },

  version: {checkedBy: SHAPES_INTEGRATION, outputs: [{name: 'one', shape: object({version: str, node: str, platform: str, arch: str})}]},
}

/** What every command prints on stdout with --json when it fails (exit codes: src/lib/errors.ts). */
export const ERROR_SHAPE: Shape = object({
  error: object({
    code: noted(oneOf(...Object.values(ERROR_CODES)), 'one name per exit code'),
    message: noted(str, 'the line printed on stderr, without "cnet: "'),
    exitCode: num,
  }),
})
