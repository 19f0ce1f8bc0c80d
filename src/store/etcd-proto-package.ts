import {readFileSync} from 'node:fs'
import protobuf from 'protobufjs/light.js'
import {readRangeResponse} from './range-response.js'

/**
 * Stands in for @grpc/proto-loader inside the bundled etcd client (dist/vendor/etcd3.cjs).
 * etcd3 asks the loader for its services when it is first required, and the loader
 * parses three .proto files and encodes a descriptor of every message for reflection:
 * about a third of the client's load time, paid by every CLI call, for reflection that a
 * client never uses. The build turns the .proto files into JSON once
 * (scripts/etcd-proto-json.cjs); this gives grpc-js the same service definitions from
 * it, and protobufjs compiles a message's encoder only when a call first sends one.
 */

interface MethodJson {
  name: string
  originalName: string
  path: string
  requestStream: boolean
  responseStream: boolean
  requestType: string
  responseType: string
}

export interface EtcdProtoJson {
  services: Record<string, MethodJson[]>
  root: protobuf.INamespace
}

/** What grpc-js's loadPackageDefinition needs of one method. */
export interface MethodDefinition {
  path: string
  requestStream: boolean
  responseStream: boolean
  originalName: string
  requestSerialize(value: object): Buffer
  requestDeserialize(bytes: Buffer): object
  responseSerialize(value: object): Buffer
  responseDeserialize(bytes: Buffer): object
}

/** The JSON the build wrote next to the .proto file etcd3 names. */
export const jsonPathFor = (protoFile: string) => protoFile.replace(/\.proto$/, '.json')

export function loadSync(protoFile: string): Record<string, Record<string, MethodDefinition>> {
  return packageDefinition(JSON.parse(readFileSync(jsonPathFor(protoFile), 'utf8')) as EtcdProtoJson)
}

export function packageDefinition(json: EtcdProtoJson): Record<string, Record<string, MethodDefinition>> {
  const root = protobuf.Root.fromJSON(json.root)
  const definition: Record<string, Record<string, MethodDefinition>> = {}
  for (const [serviceName, methods] of Object.entries(json.services)) {
    const service: Record<string, MethodDefinition> = {}
    for (const method of methods) {
      const request = root.lookupType(method.requestType)
      const response = root.lookupType(method.responseType)
      service[method.name] = {
        path: method.path,
        requestStream: method.requestStream,
        responseStream: method.responseStream,
        originalName: method.originalName,
        requestSerialize: serializer(request),
        requestDeserialize: deserializer(request),
        responseSerialize: serializer(response),
        responseDeserialize: FAST_READERS[method.path] ?? deserializer(response),
      }
    }
    definition[serviceName] = service
  }
  return definition
}

/** etcd3's options to the loader (node_modules/etcd3/lib/connection-pool.js): 64-bit numbers and enums as strings, defaults filled in. */
export const ETCD3_CONVERSION: protobuf.IConversionOptions = {longs: String, enums: String, defaults: true, oneofs: true}

/** Replies read by hand instead: the ones a large list is made of (range-response.ts says why). */
const FAST_READERS: Record<string, (bytes: Buffer) => object> = {'/etcdserverpb.KV/Range': readRangeResponse}

// As the loader does it: fromObject then encode out, decode then toObject in.
function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`)
    // protobufjs writes into a Buffer under Node.
    return type.encode(type.fromObject(value)).finish() as Buffer
  }
}

function deserializer(type: protobuf.Type): (bytes: Buffer) => object {
  return (bytes) => type.toObject(type.decode(bytes), ETCD3_CONVERSION)
}
