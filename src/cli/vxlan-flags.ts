import * as Flags from '@oclif/core/flags'
import {DEFAULT_SUBNET_FILE} from '../net/subnet-env.js'

/** Flags shared by the vxlan commands. */
export const subnetFileFlag = Flags.string({description: "this host's subnet.env (written by cnet subnet lease)", default: DEFAULT_SUBNET_FILE, env: 'CNET_SUBNET_FILE'})
export const deviceFlag = Flags.string({description: 'VXLAN device name (default cnet.<VNI>)'})
export const ifaceFlag = Flags.string({description: "underlay interface (default: the one holding the lease's PublicIP)"})
