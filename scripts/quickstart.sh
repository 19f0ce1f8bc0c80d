#!/usr/bin/env bash
# `npm start`: set up what is missing, start a local etcd (under .cnet-state/, on
# 127.0.0.1:12379), initialise a cluster network and print it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

state="$PWD/.cnet-state"
endpoint="http://127.0.0.1:12379"
mkdir -p "$state"
if ! etcdctl --endpoints "$endpoint" --command-timeout=1s endpoint health >/dev/null 2>&1; then
  echo "starting etcd on $endpoint (data in $state/etcd, log in $state/etcd.log)" >&2
  nohup etcd --name cnet-quickstart --data-dir "$state/etcd" \
    --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
    --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
    --initial-cluster cnet-quickstart=http://127.0.0.1:12380 >"$state/etcd.log" 2>&1 &
  echo $! >"$state/etcd.pid"
  for _ in $(seq 50); do
    etcdctl --endpoints "$endpoint" --command-timeout=1s endpoint health >/dev/null 2>&1 && break
    sleep 0.2
  done
fi

export CNET_ETCD_ENDPOINTS="$endpoint"
./bin/run.js network init --network 10.5.0.0/16
./bin/run.js network show
echo
echo "etcd keeps running: export CNET_ETCD_ENDPOINTS=$endpoint to use it; stop it with: kill \$(cat .cnet-state/etcd.pid)"
