import * as Flags from '@oclif/core/flags'
import {DEFAULT_CNET_PREFIX, DEFAULT_NETWORK_PREFIX} from '../store/keys.js'

/**
 * Flags every command takes, each with its CNET_* environment variable so systemd
 * units and provisioning scripts can set them once.
 */
const GROUP = 'GLOBAL'

/** Values of the global flags when neither the flag nor its variable is given. */
export const GLOBAL_DEFAULTS = {
  'etcd-endpoints': 'http://127.0.0.1:2379',
  'etcd-prefix': DEFAULT_NETWORK_PREFIX,
  'cnet-prefix': DEFAULT_CNET_PREFIX,
  'etcd-timeout': '5s',
  'log-level': 'info',
  'log-format': 'text',
} as const

/** The logging flags alone, for commands that never talk to etcd (the CNI plugin). */
export const logFlags = {
  'log-level': Flags.string({
    description: 'debug, info, warn or error',
    env: 'CNET_LOG_LEVEL',
    options: ['debug', 'info', 'warn', 'error'],
    default: GLOBAL_DEFAULTS['log-level'],
    helpGroup: GROUP,
  }),
  'log-format': Flags.string({
    description: 'logs on stderr as text or JSON lines',
    env: 'CNET_LOG_FORMAT',
    options: ['text', 'json'],
    default: GLOBAL_DEFAULTS['log-format'],
    helpGroup: GROUP,
  }),
}

export const globalFlags = {
  'etcd-endpoints': Flags.string({
    description: 'etcd endpoints, comma-separated (as flannel takes them)',
    env: 'CNET_ETCD_ENDPOINTS',
    default: GLOBAL_DEFAULTS['etcd-endpoints'],
    helpGroup: GROUP,
  }),
  'etcd-prefix': Flags.string({
    description: "etcd prefix of the network config and subnet leases (flannel's)",
    env: 'CNET_ETCD_PREFIX',
    default: GLOBAL_DEFAULTS['etcd-prefix'],
    helpGroup: GROUP,
  }),
  'cnet-prefix': Flags.string({
    description: 'etcd prefix of services and health',
    env: 'CNET_PREFIX',
    default: GLOBAL_DEFAULTS['cnet-prefix'],
    helpGroup: GROUP,
  }),
  'etcd-cafile': Flags.string({description: 'CA certificate for etcd over TLS', env: 'CNET_ETCD_CAFILE', helpGroup: GROUP}),
  'etcd-certfile': Flags.string({description: 'client certificate for etcd', env: 'CNET_ETCD_CERTFILE', helpGroup: GROUP}),
  'etcd-keyfile': Flags.string({description: 'client key for etcd', env: 'CNET_ETCD_KEYFILE', helpGroup: GROUP}),
  'etcd-username': Flags.string({description: 'etcd user', env: 'CNET_ETCD_USERNAME', helpGroup: GROUP}),
  'etcd-password': Flags.string({description: 'etcd password', env: 'CNET_ETCD_PASSWORD', helpGroup: GROUP}),
  'etcd-timeout': Flags.string({
    description: 'deadline for each etcd call',
    env: 'CNET_ETCD_TIMEOUT',
    default: GLOBAL_DEFAULTS['etcd-timeout'],
    helpGroup: GROUP,
  }),
  ...logFlags,
}

export type GlobalFlagValues = {
  'etcd-endpoints': string
  'etcd-prefix': string
  'cnet-prefix': string
  'etcd-cafile'?: string
  'etcd-certfile'?: string
  'etcd-keyfile'?: string
  'etcd-username'?: string
  'etcd-password'?: string
  'etcd-timeout': string
  'log-level': string
  'log-format': string
}
