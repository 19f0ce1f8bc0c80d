#!/usr/bin/env node
// The CNI plugin alone, as runtimes run it through the shim `cnet cni install` writes:
// one bundled file with no package in it (no oclif, no etcd client), so a container start
// pays little more than Node's own start. `cnet cni` runs the same code through the CLI.
import {main} from '../dist/cni-plugin.mjs'

await main()
