// Build step: turns etcd3's .proto files into one JSON file the CLI loads at start-up
// instead of parsing them (see src/store/etcd-proto-package.ts). It asks the real
// @grpc/proto-loader, with etcd3's own options, so method names and paths are exactly
// what the loader would have produced at run time.
'use strict'
const {writeFileSync} = require('node:fs')
const {join} = require('node:path')
const protoLoader = require('@grpc/proto-loader')
const {loadProtosWithOptionsSync} = require('@grpc/proto-loader/build/src/util')

const [protoDir, out] = process.argv.slice(2)
if (!protoDir || !out) throw new Error('usage: etcd-proto-json.cjs PROTO_DIR OUT_JSON')
const file = join(protoDir, 'rpc.proto')
// etcd3's options (node_modules/etcd3/lib/connection-pool.js); keepCase shapes the JSON.
const options = {keepCase: true, longs: String, enums: String, defaults: true, oneofs: true}
const root = loadProtosWithOptionsSync(file, options)
root.resolveAll()
const definition = protoLoader.loadSync(file, options)

const services = {}
for (const [serviceName, service] of Object.entries(definition)) {
  if ('format' in service) continue // a message or enum type, not a service
  const lookedUp = root.lookupService(serviceName)
  services[serviceName] = lookedUp.methodsArray.map((method) => ({
    name: method.name,
    originalName: service[method.name].originalName,
    path: service[method.name].path,
    requestStream: service[method.name].requestStream,
    responseStream: service[method.name].responseStream,
    requestType: method.resolvedRequestType.fullName.replace(/^\./, ''),
    responseType: method.resolvedResponseType.fullName.replace(/^\./, ''),
  }))
}
writeFileSync(out, JSON.stringify({services, root: root.toJSON()}))
