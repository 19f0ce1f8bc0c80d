import {autocompleteCommand} from '../../cli/autocomplete-plugin.js'

// oclif's autocomplete plugin's `autocomplete script` command (src/cli/autocomplete-plugin.ts).
export default await autocompleteCommand('script')
