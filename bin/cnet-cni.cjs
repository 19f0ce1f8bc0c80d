#!/usr/bin/env node
// The CNI plugin alone, as runtimes run it through the shim `cnet cni install` writes:
// one bundled file with no package in it (no oclif, no etcd client), loaded the plain
// CommonJS way (Node's ES module loader costs more at start-up), so a container start
// pays little more than Node's own start. `cnet cni` runs the same code through the CLI.
'use strict'
require('../dist/cni-plugin.cjs').main()
