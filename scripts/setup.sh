#!/usr/bin/env bash
# Brings a fresh Debian/Ubuntu machine to the point where cnet builds, runs and is
# tested: system packages (only those missing), npm packages, the build.
# Idempotent: a second run installs nothing and only rebuilds when sources changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A NEEDS=(
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [ip]=iproute2
  [bridge]=iproute2
  [iptables]=iptables
  [ping]=iputils-ping
  [dig]=bind9-dnsutils
  [dnsperf]=dnsperf
  [dnsmasq]=dnsmasq-base
  [openssl]=openssl
  [jq]=jq
  [curl]=curl
  [zsh]=zsh
  # The e2e tier runs containers under podman on cnet's CNI plugin (with runc), from a
  # root filesystem holding only a static busybox.
  [podman]=podman
  [runc]=runc
  [busybox]=busybox-static
  [nsenter]=util-linux
  # A test proves `svc resolve` writes its round-robin state without an fsync.
  [strace]=strace
)
missing=()
for cmd in "${!NEEDS[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${NEEDS[$cmd]}")
done
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || missing+=(containernetworking-plugins)

if [ ${#missing[@]} -gt 0 ]; then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: $packages(run this script as root to install them)" >&2
  else
    echo "setup: installing $packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $packages >/dev/null
  fi
fi

# Debian's etcd-server package starts a system etcd on :2379; cnet's tests and lab
# start their own on other ports and never touch it.

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src package.json tsconfig.json scripts/build.sh scripts/etcd-proto-json.cjs -newer "$stamp" -print -quit)" ]; then
  echo "setup: building" >&2
  npm run --silent build
  touch "$stamp"
fi
