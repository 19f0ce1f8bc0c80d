#!/usr/bin/env bash
# Compiles TypeScript, bundles the etcd client and the CNI plugin for fast start-up, writes the oclif manifest.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist oclif.manifest.json
tsc -p tsconfig.json
# etcd3 finds its .proto files at <bundle dir>/../proto; in the bundle, the JSON made from
# them stands in for @grpc/proto-loader (src/store/etcd-proto-package.ts says why).
esbuild dist/store/etcd3-vendor.js --bundle --minify --keep-names --platform=node --format=cjs --target=node20 --log-level=warning \
  --alias:@grpc/proto-loader=./dist/store/etcd-proto-package.js --alias:net=./dist/store/net-fast.js --outfile=dist/vendor/etcd3.cjs
mkdir -p dist/proto && cp node_modules/etcd3/proto/*.proto dist/proto/
node scripts/etcd-proto-json.cjs dist/proto dist/proto/rpc.json
# V8's code cache of the bundle for dns serve's workers, under their node options, made
# by loading it once (the CLI's is written below, after CLI calls).
node scripts/write-code-caches.mjs --workers dist/vendor/etcd3.cjs
# The CLI itself (oclif and every command) as one file that bin/run.js loads with its
# code cache, where Node would resolve, read and compile each module of dist/ on each call.
node scripts/bundle-cli.mjs
# The caches of both bundles for the CLI's options, written after CLI calls against a
# stand-in etcd ran (scripts/warm-up-cli.mjs), so what a call runs is compiled in them too.
node scripts/write-code-caches.mjs --cli
# The CNI plugin's own entry (bin/cnet-cni.cjs) loads one file instead of resolving and
# reading each of its modules: every container start pays for that.
esbuild dist/cni/main.js --bundle --minify --keep-names --platform=node --format=cjs --target=node20 --log-level=warning --outfile=dist/cni-plugin.cjs
oclif manifest >/dev/null
