#!/usr/bin/env -S node --import tsx --no-warnings
// The TypeScript sources through tsx. CommonJS like run.js (bin/package.json); oclif is
// given the package root, where a search from here would stop at bin/package.json.
'use strict'
require('@oclif/core/execute').execute({development: true, dir: require('node:path').join(__dirname, '..')})
