import * as Flags from '@oclif/core/flags'
import {DEFAULT_SUBNET_FILE} from '../net/subnet-env.js'

/** Flags shared by the vxlan (overlay) commands. */
export const subnetFileFlag = Flags.string({description: "this host's subnet.env (written by cnet subnet lease)", default: DEFAULT_SUBNET_FILE, env: 'CNET_SUBNET_FILE'})
export const deviceFlag = Flags.string({description: 'IPv4 VXLAN device name (default cnet.<VNI>)'})
export const deviceV6Flag = Flags.string({description: 'IPv6 VXLAN device name, with IPv6 enabled (default cnet-v6.<VNI>)'})
export const ifaceFlag = Flags.string({description: "underlay interface (default: the one holding the lease's PublicIP)"})
