#!/usr/bin/env bash
# jest with ESM TypeScript needs the VM modules flag.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --disable-warning=ExperimentalWarning"
# jest would set NODE_ENV=test, which every cnet process the tests start inherits, and
# oclif then looks for TypeScript sources on every start (twice the start-up time). The
# tests run cnet as users do.
export NODE_ENV=production
exec node_modules/.bin/jest "$@"
