import {ERROR_SHAPE, JSON_SHAPES} from '../../scripts/docs/json-shapes.js'
import {type Shape, type ShapeCoverage, checkShape, newCoverage, unseen} from '../../scripts/docs/shape.js'

/**
 * Checks the real --json output of cnet against the shapes docs/reference.md documents
 * (scripts/docs/json-shapes.ts). A test file names itself; `problems()` at its end says
 * which of the shapes assigned to it (`checkedBy`) it never checked, and which optional
 * fields or variants of them no output showed.
 */
export class JsonShapeChecks {
  private readonly coverage = new Map<string, ShapeCoverage>()
  private readonly checked = new Set<string>()

  constructor(private readonly testFile: string) {}

  /**
   * The output parsed (typed as JSON.parse types it), or the test fails listing every
   * difference from the documented shape.
   */
  document(command: string, output: string, stdout: string): any {
    const value = parse(command, stdout)
    this.record(command, output, value)
    return value
  }

  /** A stream (`svc watch --json`): every line is one document. */
  lines(command: string, output: string, stdout: string): any[] {
    const lines = stdout.split('\n').filter((line) => line.trim() !== '')
    if (lines.length === 0) throw new Error(`cnet ${command} --json printed no line`)
    return lines.map((line) => {
      const value = parse(command, line)
      this.record(command, output, value)
      return value
    })
  }

  /** A daemon documented as printing no document. */
  nothing(command: string, stdout: string): void {
    if (this.shapeOf(command, undefined) !== undefined) throw new Error(`cnet ${command}: documented as printing a document`)
    if (stdout.trim() !== '') throw new Error(`cnet ${command} --json printed ${JSON.stringify(stdout.slice(0, 200))}, documented as printing nothing`)
    this.checked.add(`${command}#`)
  }

  /** The error document of a failed command. */
  error(stdout: string): {error: {code: string; message: string; exitCode: number}} {
    const value = parse('(failing command)', stdout)
    this.check('error', ERROR_SHAPE, value)
    this.checked.add('error#')
    return value as {error: {code: string; message: string; exitCode: number}}
  }

  /**
   * What this file should have checked and did not: outputs of the commands assigned to
   * it, optional fields and union variants never seen, and the error document when the
   * file checks it.
   */
  problems(options: {error?: boolean} = {}): string[] {
    const problems: string[] = []
    for (const [command, json] of Object.entries(JSON_SHAPES)) {
      if (json.checkedBy !== this.testFile) continue
      if (json.outputs.length === 0 && !this.checked.has(`${command}#`)) problems.push(`cnet ${command}: not run`)
      for (const output of json.outputs) {
        const id = `${command}#${output.name}`
        if (!this.checked.has(id)) problems.push(`cnet ${command} (${output.name}): not checked`)
        else problems.push(...unseen(output.shape, this.coverage.get(id)!).map((p) => `cnet ${command} (${output.name}): ${p}`))
      }
    }
    if (options.error) {
      if (!this.checked.has('error#')) problems.push('the error document: not checked')
      else problems.push(...unseen(ERROR_SHAPE, this.coverage.get('error')!).map((p) => `the error document: ${p}`))
    }
    return problems
  }

  private record(command: string, output: string, value: unknown): void {
    const shape = this.shapeOf(command, output)
    if (!shape) throw new Error(`cnet ${command}: no documented output "${output}" in scripts/docs/json-shapes.ts`)
    const id = `${command}#${output}`
    this.check(id, shape, value)
    this.checked.add(id)
  }

  private check(id: string, shape: Shape, value: unknown): void {
    const coverage = this.coverage.get(id) ?? newCoverage()
    this.coverage.set(id, coverage)
    const problems = checkShape(value, shape, coverage)
    if (problems.length > 0) {
      throw new Error(`${id.replace('#', ' --json (')}) differs from docs/reference.md:\n  ${problems.join('\n  ')}\n${JSON.stringify(value, null, 2).slice(0, 3000)}`)
    }
  }

  private shapeOf(command: string, output: string | undefined): Shape | undefined {
    const json = JSON_SHAPES[command]
    if (!json) throw new Error(`cnet ${command}: not in scripts/docs/json-shapes.ts`)
    if (json.checkedBy !== this.testFile) throw new Error(`cnet ${command}: checked by ${json.checkedBy}, not ${this.testFile}`)
    return json.outputs.find((o) => o.name === output)?.shape
  }
}

function parse(command: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`cnet ${command} --json printed something that is not JSON: ${JSON.stringify(text.slice(0, 300))}`)
  }
}
