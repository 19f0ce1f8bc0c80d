#!/usr/bin/env node
// Node deprecation notices (gRPC sets a TLS server name for IP endpoints) are not cnet logs.
process.noDeprecation = true
// Only the executor: loading all of @oclif/core's index costs start-up time.
import('@oclif/core/execute').then(({execute}) => execute({dir: import.meta.url}))
