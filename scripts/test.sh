#!/usr/bin/env bash
# `npm test`: set up what is missing, type-check, then run every tier.
# A tier whose requirement is missing is skipped loudly; under CI=true it fails.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1

echo "== type-check (sources, tests, benchmarks)"
node_modules/.bin/tsc --noEmit -p tsconfig.test.json || exit 1

# docs/reference.md is generated from the commands: it must be what they give now.
echo "== docs (reference up to date, pages linked, JSON shapes, units, variables)"
node_modules/.bin/tsx scripts/docs/main.ts --check || exit 1

failed=0
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
skip_or_fail() { # tier, reason
  if [ "${CI:-}" = "true" ]; then
    echo "!! tier $1 cannot run: $2 (CI=true: failing instead of skipping)" >&2
    failed=1
  else
    echo "!! SKIPPED tier $1: $2" >&2
  fi
}

run_tier() { # tier
  echo "== $1 tests"
  # Unit and integration files run two at a time (integration files mostly wait on
  # etcd, daemons and their own polls, each file with its own etcd or key prefixes).
  # End-to-end files run one at a time: they program kernels and start whole clusters.
  local extra=(--runInBand)
  [ "$1" = integration ] && extra=(--maxWorkers=2)
  # The unit tier measures line coverage of src/ and fails below jest.config.js's floors.
  [ "$1" = unit ] && extra=(--maxWorkers=2 --coverage --coverageDirectory="$reports/coverage")
  bash scripts/jest.sh --selectProjects "$1" "${extra[@]}" --json --outputFile="$reports/$1.json" || failed=1
}

run_tier unit

if ! command -v etcd >/dev/null; then
  skip_or_fail integration "no etcd binary (apt-get install etcd-server etcd-client)"
else
  run_tier integration
fi

if [ "$(id -u)" -ne 0 ]; then
  skip_or_fail e2e "needs root for network namespaces"
elif ! ip netns add cnet-probe-$$ 2>/dev/null; then
  skip_or_fail e2e "cannot create network namespaces here"
else
  ip netns del cnet-probe-$$
  run_tier e2e
fi

# One closing line over every tier, for CI: "N passed, N failed".
node -e '
  const fs = require("fs"); let passed = 0, failed = 0, skipped = 0
  for (const f of fs.readdirSync(process.argv[1]).filter((f) => f.endsWith(".json"))) {
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8"))
    passed += r.numPassedTests; failed += r.numFailedTests + (r.numRuntimeErrorTestSuites || 0); skipped += r.numPendingTests
  }
  console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""))
' "$reports"

if [ "$failed" -ne 0 ]; then
  echo "npm test: FAILED" >&2
  exit 1
fi
echo "npm test: all tiers passed"
