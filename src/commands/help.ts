import {commands} from '@oclif/plugin-help'

// oclif's help plugin's `help` command, as a command of cnet's: listed as an oclif
// plugin it would be loaded by every command; this way it is read only for `cnet help`.
export default commands.help
