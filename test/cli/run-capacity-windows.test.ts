import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'

/**
 * `capacity.breakOn` with `over:` through the real `tickstorm run` on the embedded server: a step
 * is judged on every window of its measured seconds, as the scenario's own thresholds judge the
 * same step. A first run measures how much one step delivers; the second sets a count a whole
 * step reaches and no 1-s window does, under both `breakOn` and `thresholds:`.
 */

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-capacity-windows-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const STEP_SEC = 4

/** One step of ten subscribers (start = max), measured STEP_SEC seconds. */
function scenarioText(name: string, breakOn: string, thresholds: string): string {
  return `name: ${name}
description: capacity breakOn over windows through the real CLI
target: embedded
server: { preset: normal, seed: 3 }
transports: [sse]
subscribers: { count: 10, rampPerSec: 300, watchList: { size: 8, pick: zipf } }
warmupSec: 1
workers: 1
executor: capacity
capacity:
  start: 10
  step: { add: 10 }
  max: 10
  stepDurationSec: ${STEP_SEC}
  breakOn:
${breakOn}
thresholds:
${thresholds}
`
}

interface Outcome {
  name: string
  expression?: string
  actual: number
  overSec?: number
  worstWindowAtSec?: number
  passed: boolean
}

/** The parts of result.json these tests read. */
interface Result {
  transports: {
    deliveries: number
    measuredSec: number
    thresholds: Outcome[]
    validity: { valid: boolean }
  }[]
  capacity: {
    maxPassingSubscribers: number
    curve: { subscribers: number; passed: boolean; breakOn?: Outcome[] }[]
  }[]
}

async function run(name: string, text: string) {
  const file = join(dir, `${name}.yaml`)
  await writeFile(file, text)
  const results = join(dir, `${name}-results`)
  const cli = tickstorm(['run', file, '--results', results])
  const exit = await cli.exit
  const written = await readdir(results).catch(() => [])
  expect(written, `${cli.stderr()}\n${cli.stdout()}`).toHaveLength(1)
  const result = JSON.parse(
    await readFile(join(results, written[0]!, 'result.json'), 'utf8'),
  ) as Result
  return { exit, stdout: cli.stdout(), stderr: cli.stderr(), result }
}

describe('tickstorm run: capacity.breakOn over windows', () => {
  test('a step that reaches a count as a whole but in no 1-s window breaks with over: 1s', async () => {
    const probe = await run(
      'probe',
      scenarioText('probe', '    deliveries: ["count > 0"]', '  deliveries: ["count > 0"]'),
    )
    const [measured] = probe.result.transports
    expect(measured!.deliveries, probe.stderr).toBeGreaterThan(0)
    // An invalid step (a harness too busy to measure) breaks whatever its thresholds say; its
    // breakOn outcomes are judged all the same.
    expect(probe.result.capacity[0]!.curve).toEqual([
      expect.objectContaining({ subscribers: 10, passed: measured!.validity.valid }),
    ])
    expect(probe.result.capacity[0]!.curve[0]!.breakOn).toEqual([
      expect.objectContaining({ name: 'deliveries', passed: true }),
    ])
    // Half a step's deliveries: a whole step of STEP_SEC s has about twice that, a 1-s window
    // about a STEP_SEC-th of the step, so the two sides are a factor of two from the limit.
    const limit = Math.round(measured!.deliveries / 2)
    const threshold = `{ threshold: "count > ${limit}", over: 1s }`
    const { result, stdout, stderr } = await run(
      'windows',
      scenarioText(
        'windows',
        `    deliveries: [${threshold}]`,
        `  deliveries: [${threshold}, "count > ${limit}"]`,
      ),
    )
    const [sse] = result.transports
    const [windowed, whole] = sse!.thresholds
    // The scenario's own thresholds, judged on the same step: no 1-s window reaches the limit
    // (the worst one and where it began are reported); the step as a whole does.
    expect(windowed, `${stderr}\n${stdout}`).toMatchObject({ overSec: 1, passed: false })
    expect(windowed!.actual).toBeLessThanOrEqual(limit)
    expect(windowed!.worstWindowAtSec).toBeGreaterThanOrEqual(0)
    expect(windowed!.worstWindowAtSec).toBeLessThan(sse!.measuredSec)
    expect(whole).toMatchObject({ passed: true })
    expect(whole!.actual).toBe(sse!.deliveries)
    // breakOn judged the step the same way: by its windows, so the step broke, and the curve
    // says by which window (the same figure as the scenario's own threshold).
    const [capacity] = result.capacity
    expect(capacity!.curve).toEqual([expect.objectContaining({ subscribers: 10, passed: false })])
    const [broken] = capacity!.curve[0]!.breakOn!
    expect(broken).toMatchObject({ name: 'deliveries', overSec: 1, passed: false })
    expect(broken!.actual).toBeLessThanOrEqual(limit)
    expect(broken!.worstWindowAtSec).toBeGreaterThanOrEqual(0)
    // The console's curve names what broke the step.
    expect(stdout).toMatch(
      new RegExp(
        `\\bNO +deliveries count > ${limit} over 1 s: [\\d,]+ \\(worst 1 s window, from [\\d.]+ s\\)`,
      ),
    )
    expect(capacity!.maxPassingSubscribers).toBe(0)
    expect(stdout).toMatch(
      new RegExp(
        `\\nthreshold deliveries count > ${limit} over 1 s: [\\d,]+ \\(worst 1 s window, from [\\d.]+ s\\) FAILED\\n`,
      ),
    )
  })
})
