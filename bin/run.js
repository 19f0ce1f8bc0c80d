#!/usr/bin/env node
// Node's deprecation notices (gRPC's TLS server name for IP endpoints) are not cnet's logs.
process.noDeprecation = true
import('@oclif/core').then(({execute}) => execute({dir: import.meta.url}))
