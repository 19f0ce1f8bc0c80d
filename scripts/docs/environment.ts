/**
 * Environment variables cnet reads that are not a flag's (flags' variables come from
 * the manifest). scripts/docs/checks.ts fails when the code reads a CNET_* variable
 * that is in neither.
 */
export interface EnvironmentVariable {
  name: string
  meaning: string
  /** Set by cnet for itself, or by the tests: listed so that it is known, not to be set. */
  internal?: boolean
}

export const OTHER_ENVIRONMENT: EnvironmentVariable[] = [
  {name: 'NO_COLOR', meaning: 'no colour in tables and records, even on a terminal (colour is never used when stdout is not a terminal)'},
  {name: 'XDG_STATE_HOME', meaning: '`svc resolve --strategy round-robin` keeps its position per service in `$XDG_STATE_HOME/cnet/resolve-positions.json` (default `~/.local/state/cnet/`)'},
  {name: 'XDG_CACHE_HOME', meaning: 'where `cnet autocomplete` builds the completion scripts (default `~/.cache/cnet/autocomplete`)'},
  {name: 'CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH', meaning: "the CNI plugin's invocation, set by the container runtime (CNI spec 1.0.0; see [cni.md](cni.md))"},
  {name: 'CNET_UNSAFE_MIN_TTL', meaning: 'a duration that lowers the one-minute floor of `subnet lease --ttl` and `svc register --deregister-critical-after`; for tests', internal: true},
  {name: 'CNET_TEST_INTERNAL_ERROR', meaning: '`1` makes any command throw a programming error after parsing its flags, so the tests can check how a bug is reported (exit 70)', internal: true},
  {name: 'CNET_GIVEN_GLIBC_TUNABLES', meaning: "how `bin/run.js`'s shell line hands node the `GLIBC_TUNABLES` cnet was given (`=` and its value, or empty when it had none), which cnet restores for what it runs; see [operations.md](operations.md)", internal: true},
  {name: 'CNET_DNS_WORKER', meaning: "how `dns serve` hands a worker its settings and the global flags' values (etcd endpoints and credentials, key prefixes, logging)", internal: true},
]
