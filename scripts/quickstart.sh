#!/usr/bin/env bash
# `npm start`: set up what is missing, then bring up the lab: a whole cnet cluster on
# this machine (local etcd, 3 nodes as network namespaces, 2 pods each, services,
# DNS), ending with a table and three proofs. Run again, it re-runs the proofs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

cnet=./bin/run.js
state="${CNET_LAB_DIR:-/var/lib/cnet/lab}"
if [ -f "$state/lab.json" ]; then
  echo "a lab is already up (state in $state): re-running its proofs" >&2
  "$cnet" lab status
else
  "$cnet" lab up --nodes "${LAB_NODES:-3}" --pods-per-node "${LAB_PODS_PER_NODE:-2}"
fi
echo
echo "next: ./bin/run.js lab status   (proofs again)"
echo "      ip netns exec cnl-n3p2 curl -s http://web.default.svc.cluster.local:8080/   (a pod on node 3 to the service)"
echo "      ./bin/run.js lab down     (stops and removes everything the lab made)"
