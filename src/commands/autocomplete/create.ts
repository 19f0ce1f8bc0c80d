import {autocompleteCommand} from '../../cli/autocomplete-plugin.js'

// oclif's autocomplete plugin's `autocomplete create` command (src/cli/autocomplete-plugin.ts).
export default await autocompleteCommand('create')
