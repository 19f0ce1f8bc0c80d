import * as Flags from '@oclif/core/flags'

/** Flags of every command that prints a table (docs/cli.md, "Tables"). */
const OUTPUT = 'OUTPUT'

export const tableFlags = {
  wide: Flags.boolean({description: 'more columns (kubectl calls this -o wide)', helpGroup: OUTPUT}),
  'no-headers': Flags.boolean({description: 'leave out the header row', helpGroup: OUTPUT}),
}

export type TableFlagValues = {wide?: boolean; 'no-headers'?: boolean}
