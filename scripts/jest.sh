#!/usr/bin/env bash
# jest with ESM TypeScript needs the VM modules flag.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules --disable-warning=ExperimentalWarning"
exec node_modules/.bin/jest "$@"
