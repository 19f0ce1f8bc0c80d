/**
 * A small language for the JSON documents cnet prints with --json: the reference
 * (docs/reference.md) renders each shape as a TypeScript-like type, and the integration
 * and end-to-end tests check real output against the same shape, so the two cannot
 * drift apart.
 */

export type Shape =
  | {kind: 'string'; values?: readonly string[]}
  | {kind: 'number'; values?: readonly number[]}
  | {kind: 'boolean'}
  | {kind: 'null'}
  | {kind: 'array'; of: Shape}
  | {kind: 'object'; fields: Record<string, Field>}
  | {kind: 'map'; of: Shape}
  | {kind: 'union'; of: Shape[]; sampled?: boolean}
  | {kind: 'named'; name: string; shape: Shape}
  | {kind: 'any'}

export interface Field {
  shape: Shape
  /** Absent from some documents (the note says when). */
  optional: boolean
  note?: string
}

type FieldSpec = Shape | Field

export const str: Shape = {kind: 'string'}
export const num: Shape = {kind: 'number'}
export const bool: Shape = {kind: 'boolean'}
export const nul: Shape = {kind: 'null'}
/** Any JSON value: only for what cnet passes through as it was given (a config as written). */
export const anyJson: Shape = {kind: 'any'}

/** A string that is one of these values. */
export const oneOf = (...values: string[]): Shape => ({kind: 'string', values})
/** A number that is one of these values (an address family: 4 or 6). */
export const numberOf = (...values: number[]): Shape => ({kind: 'number', values})
export const arrayOf = (of: Shape): Shape => ({kind: 'array', of})
/** An object whose keys are data (a service's meta, HTTP headers). */
export const mapOf = (of: Shape): Shape => ({kind: 'map', of})
export const union = (...of: Shape[]): Shape => ({kind: 'union', of})
export const nullable = (shape: Shape): Shape => union(shape, nul)
/**
 * A union of many kinds of record (the overlay's kernel operations) where a test run
 * shows only the kinds its scenario needs: every value must still fit a variant, but
 * coverage does not ask for each variant to have been seen.
 */
export const sampledUnion = (...of: Shape[]): Shape => ({kind: 'union', of, sampled: true})
/** A shape shared by several commands, documented once under its name. */
export const named = (name: string, shape: Shape): Shape => ({kind: 'named', name, shape})

const isField = (spec: FieldSpec): spec is Field => 'optional' in spec && 'shape' in spec

/** A field with a note on what it holds. */
export const noted = (shape: Shape, note: string): Field => ({shape, optional: false, note})
/** A field that some documents leave out; the note says when it is there. */
export const optional = (shape: Shape, note: string): Field => ({shape, optional: true, note})

export function object(fields: Record<string, FieldSpec>): Shape {
  return {kind: 'object', fields: Object.fromEntries(Object.entries(fields).map(([key, spec]) => [key, isField(spec) ? spec : {shape: spec, optional: false}]))}
}

/** The same object with more fields (as a TypeScript interface extends another). */
export function extend(base: Shape, fields: Record<string, FieldSpec>): Shape {
  const inner = base.kind === 'named' ? base.shape : base
  if (inner.kind !== 'object') throw new Error('extend: the base is not an object')
  const more = object(fields)
  return {kind: 'object', fields: {...inner.fields, ...(more as {fields: Record<string, Field>}).fields}}
}

// ---------------------------------------------------------------- checking

export interface ShapeCoverage {
  /** Paths of optional fields seen present, e.g. "$.ipv6Subnet". */
  optionalSeen: Set<string>
  /** Union variants that matched a value, as "<path>#<index>". */
  variantsSeen: Set<string>
}

export const newCoverage = (): ShapeCoverage => ({optionalSeen: new Set(), variantsSeen: new Set()})

/** A path with its indexes and map keys left out: where in the shape, not where in the document. */
const shapePath = (path: string): string => path.replace(/\[[^\]]*\]/g, '[]')

const typeOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value)

/**
 * What is wrong with `value` as a `shape`: one line per problem (a missing or
 * undocumented key, a value of another type, a string not among the documented
 * values), each with its path. Empty when it fits. Records what it saw in `coverage`.
 */
export function checkShape(value: unknown, shape: Shape, coverage: ShapeCoverage = newCoverage(), path = '$'): string[] {
  switch (shape.kind) {
    case 'named':
      return checkShape(value, shape.shape, coverage, path)
    case 'any':
      return []
    case 'string':
      if (typeof value !== 'string') return [`${path}: expected a string, got ${typeOf(value)}`]
      if (shape.values && !shape.values.includes(value)) return [`${path}: "${value}" is not one of ${shape.values.map((v) => `"${v}"`).join(', ')}`]
      return []
    case 'number':
      if (typeof value !== 'number') return [`${path}: expected a number, got ${typeOf(value)}`]
      if (shape.values && !shape.values.includes(value)) return [`${path}: ${value} is not one of ${shape.values.join(', ')}`]
      return []
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: expected a boolean, got ${typeOf(value)}`]
    case 'null':
      return value === null ? [] : [`${path}: expected null, got ${typeOf(value)}`]
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected an array, got ${typeOf(value)}`]
      return value.flatMap((item, i) => checkShape(item, shape.of, coverage, `${path}[${i}]`))
    case 'map':
      if (typeOf(value) !== 'object') return [`${path}: expected an object, got ${typeOf(value)}`]
      return Object.entries(value as object).flatMap(([key, item]) => checkShape(item, shape.of, coverage, `${path}[${JSON.stringify(key)}]`))
    case 'object': {
      if (typeOf(value) !== 'object') return [`${path}: expected an object, got ${typeOf(value)}`]
      const record = value as Record<string, unknown>
      const problems: string[] = []
      for (const [key, field] of Object.entries(shape.fields)) {
        if (!(key in record)) {
          if (!field.optional) problems.push(`${path}.${key}: missing`)
          continue
        }
        if (field.optional) coverage.optionalSeen.add(`${shapePath(path)}.${key}`)
        problems.push(...checkShape(record[key], field.shape, coverage, `${path}.${key}`))
      }
      for (const key of Object.keys(record)) if (!(key in shape.fields)) problems.push(`${path}.${key}: not documented`)
      return problems
    }
    case 'union': {
      const attempts = shape.of.map((variant) => {
        const scratch = newCoverage()
        return {problems: checkShape(value, variant, scratch, path), scratch}
      })
      const fit = attempts.findIndex((a) => a.problems.length === 0)
      if (fit >= 0) {
        coverage.variantsSeen.add(`${shapePath(path)}#${fit}`)
        for (const seen of attempts[fit].scratch.optionalSeen) coverage.optionalSeen.add(seen)
        for (const seen of attempts[fit].scratch.variantsSeen) coverage.variantsSeen.add(seen)
        return []
      }
      // The variant that came closest tells the most.
      const closest = attempts.reduce((best, a) => (a.problems.length < best.problems.length ? a : best))
      return [`${path}: fits none of ${renderInline(shape)}`, ...closest.problems]
    }
  }
}

/**
 * Optional fields and union variants of `shape` that no checked document showed: a
 * documented field nobody has seen is as suspect as an undocumented one. Variants that
 * are plain null or a primitive beside null are not asked for (a nullable value).
 */
export function unseen(shape: Shape, coverage: ShapeCoverage, path = '$'): string[] {
  switch (shape.kind) {
    case 'named':
      return unseen(shape.shape, coverage, path)
    case 'array':
      return unseen(shape.of, coverage, `${path}[]`)
    case 'map':
      return unseen(shape.of, coverage, `${path}[]`)
    case 'object':
      return Object.entries(shape.fields).flatMap(([key, field]) => {
        const here = `${path}.${key}`
        if (field.optional && !coverage.optionalSeen.has(here)) return [`${here}: optional field never seen`]
        return unseen(field.shape, coverage, here)
      })
    case 'union': {
      const isNullable = shape.of.length === 2 && shape.of.some((v) => v.kind === 'null')
      return shape.of.flatMap((variant, i) => {
        if (shape.sampled && !coverage.variantsSeen.has(`${path}#${i}`)) return []
        if (isNullable && (variant.kind === 'null' || isLeaf(variant))) return []
        if (!coverage.variantsSeen.has(`${path}#${i}`)) return [`${path}: variant ${renderInline(variant)} never seen`]
        return unseen(variant, coverage, path)
      })
    }
    default:
      return []
  }
}

const isLeaf = (shape: Shape): boolean => shape.kind === 'string' || shape.kind === 'number' || shape.kind === 'boolean'

// ---------------------------------------------------------------- rendering

const KEY = /^[A-Za-z_$][\w$]*$/
const quoteKey = (key: string) => (KEY.test(key) ? key : JSON.stringify(key))

/** A shape on one line, as a type: `string | null`, `"tcp" | "udp"`, `LeaseRow[]`. */
export function renderInline(shape: Shape): string {
  switch (shape.kind) {
    case 'named':
      return shape.name
    case 'string':
      return shape.values ? shape.values.map((v) => JSON.stringify(v)).join(' | ') : 'string'
    case 'number':
      return shape.values ? shape.values.join(' | ') : 'number'
    case 'boolean':
    case 'null':
    case 'any':
      return shape.kind
    case 'array': {
      const inner = renderInline(shape.of)
      return shape.of.kind === 'union' || ((shape.of.kind === 'string' || shape.of.kind === 'number') && shape.of.values) ? `(${inner})[]` : `${inner}[]`
    }
    case 'map':
      return `{[key: string]: ${renderInline(shape.of)}}`
    case 'union':
      return shape.of.map(renderInline).join(' | ')
    case 'object': {
      const fields = Object.entries(shape.fields).map(([key, f]) => `${quoteKey(key)}${f.optional ? '?' : ''}: ${renderInline(f.shape)}`)
      return `{${fields.join('; ')}}`
    }
  }
}

/**
 * A shape as an indented type, one field a line with its note as a comment; named
 * shapes inside are left as their names (documented once, see namedShapes).
 */
export function renderBlock(shape: Shape, indent = ''): string {
  const inner = shape.kind === 'named' ? shape.shape : shape
  if (inner.kind === 'array' && (inner.of.kind === 'object' || inner.of.kind === 'union')) return `${renderBlock(inner.of, indent)}[]`
  if (inner.kind === 'union' && inner.of.every((v) => v.kind === 'object')) {
    return inner.of.map((variant) => renderBlock(variant, indent)).join(`\n${indent}| `)
  }
  if (inner.kind !== 'object') return renderInline(inner)
  const next = `${indent}  `
  const lines = Object.entries(inner.fields).map(([key, field]) => {
    const type = field.shape.kind === 'object' ? renderBlock(field.shape, next) : renderInline(field.shape)
    return `${next}${quoteKey(key)}${field.optional ? '?' : ''}: ${type}${field.note ? `  // ${field.note}` : ''}`
  })
  return `{\n${lines.join('\n')}\n${indent}}`
}

/** The named shapes a shape uses, each once, in the order they are first met. */
export function namedShapes(shape: Shape, found = new Map<string, Shape>()): Map<string, Shape> {
  switch (shape.kind) {
    case 'named':
      if (!found.has(shape.name)) {
        found.set(shape.name, shape.shape)
        namedShapes(shape.shape, found)
      }
      break
    case 'array':
    case 'map':
      namedShapes(shape.of, found)
      break
    case 'union':
      for (const variant of shape.of) namedShapes(variant, found)
      break
    case 'object':
      for (const field of Object.values(shape.fields)) namedShapes(field.shape, found)
      break
  }
  return found
}
