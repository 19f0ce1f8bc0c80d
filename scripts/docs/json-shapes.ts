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
  optional,
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
    Network: optional(str, 'the IPv4 network'),
    SubnetLen: optional(num, 'with Network'),
    SubnetMin: optional(str, 'with Network'),
    SubnetMax: optional(str, 'with Network'),
    EnableIPv4: bool,
    EnableIPv6: bool,
    IPv6Network: optional(str, 'with EnableIPv6'),
    IPv6SubnetLen: optional(num, 'with EnableIPv6'),
    IPv6SubnetMin: optional(str, 'with EnableIPv6'),
    IPv6SubnetMax: optional(str, 'with EnableIPv6'),
    Backend: object({
      Type: oneOf('vxlan'),
      VNI: num,
      Port: noted(num, '8472 when the config says 0'),
      MTU: noted(num, '0: the underlay MTU minus 50'),
      GBP: bool,
      Learning: bool,
      DirectRouting: bool,
    }),
  }),
)

const leaseRow = named(
  'LeaseRow',
  object({
    subnet: noted(str, 'both subnets, space-separated, for a dual-stack lease; the key name for an invalid one'),
    publicIp: nullable(str),
    publicIpv6: nullable(str),
    vtepMac: nullable(str),
    hostName: nullable(str),
    expiresInSeconds: noted(nullable(num), 'null for a reservation'),
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
          publicIp: str,
          publicIpv6: optional(nullable(str), 'with IPv6 enabled; null when this host has none'),
          vtepMac: str,
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
