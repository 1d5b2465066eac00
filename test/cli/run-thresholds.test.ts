import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'

/**
 * Thresholds as k6 users write them, through the real `tickstorm run` on a tiny embedded
 * scenario: a set that passes, one that fails (exit 3, the verdict naming the transport, the
 * metric and the expression), one for a single transport, one over windows, one that aborts the
 * run early, and one that is not a threshold at all (exit 2, its path and what to write).
 */

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-run-thresholds-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Ten subscribers, a second of warm-up; the thresholds block is the test's. */
function scenarioText(
  name: string,
  thresholds: string,
  { transports = '[sse]', durationSec = 2 } = {},
): string {
  return `name: ${name}
description: thresholds through the real CLI
target: embedded
server: { preset: normal, seed: 3 }
transports: ${transports}
subscribers: { count: 10, rampPerSec: 300, watchList: { size: 8, pick: zipf } }
warmupSec: 1
durationSec: ${durationSec}
workers: 1
thresholds:
${thresholds}
`
}

interface Outcome {
  name: string
  expression?: string
  limit: number
  actual: number
  unit?: string
  overSec?: number
  worstWindowAtSec?: number
  abortOnFail?: boolean
  passed: boolean
}

/** The parts of result.json these tests read. */
interface Result {
  passed: boolean
  abortedBy?: { transport: string; threshold: string; atSec: number }
  transports: {
    transport: string
    measuredSec: number
    thresholds: Outcome[]
    validity: { valid: boolean }
  }[]
}

/** Runs the scenario; its exit code, output and result.json (null when none was written). */
async function run(name: string, text: string) {
  const file = join(dir, `${name}.yaml`)
  await writeFile(file, text)
  const results = join(dir, `${name}-results`)
  const startedMs = Date.now()
  const cli = tickstorm(['run', file, '--results', results])
  const exit = await cli.exit
  const wallSec = (Date.now() - startedMs) / 1000
  const written = await readdir(results).catch(() => [])
  const result =
    written.length === 1
      ? (JSON.parse(await readFile(join(results, written[0]!, 'result.json'), 'utf8')) as Result)
      : null
  const lastLine = cli.stdout().trimEnd().split('\n').at(-3) ?? ''
  return { exit, stdout: cli.stdout(), stderr: cli.stderr(), result, wallSec, verdict: lastLine }
}

describe('tickstorm run: thresholds', () => {
  test('a passing set: every metric and aggregation judged, exit 0, each printed with its figure', async () => {
    const { exit, stdout, stderr, result } = await run(
      'pass',
      scenarioText(
        'pass',
        `  latency: ["p(50) < 5s", "p(99) < 5s", "max < 10s"]
  connect: ["p(95) < 5000ms"]
  errors: ["rate < 50%"]
  deliveries: ["rate > 1", "count >= 1"]
  p99Ms: 5000`,
      ),
    )
    const [sse] = result!.transports
    // A machine busy with other work can saturate the harness: the run is then invalid (exit 3)
    // whatever its thresholds say, and says so.
    expect(exit, `${stderr}\n${stdout}`).toBe(sse!.validity.valid ? 0 : 3)
    expect(sse!.thresholds.map((o) => [o.name, o.expression, o.unit, o.passed])).toEqual([
      ['latency', 'p(50) < 5s', 'ms', true],
      ['latency', 'p(99) < 5s', 'ms', true],
      ['latency', 'max < 10s', 'ms', true],
      ['connect', 'p(95) < 5000ms', 'ms', true],
      ['errors', 'rate < 50%', 'ratio', true],
      ['deliveries', 'rate > 1', 'perSec', true],
      ['deliveries', 'count >= 1', 'count', true],
      // The old key, as the inclusive expression it always meant.
      ['latency', 'p(99) <= 5000ms', 'ms', true],
    ])
    const p99 = sse!.thresholds[1]!
    expect(p99.limit).toBe(5000)
    expect(p99.actual).toBeGreaterThan(0)
    expect(stdout).toMatch(/\nthreshold latency p\(99\) < 5s: [\d.]+ ms ok\n/)
    expect(stdout).toMatch(/\nthreshold deliveries rate > 1: [\d,]+\/s ok\n/)
    if (sse!.validity.valid) expect(stdout).toContain('\nPASSED\n')
  })

  test('a failing threshold: exit 3, the verdict names the transport, the metric and the expression', async () => {
    const { exit, verdict, result } = await run(
      'fail',
      scenarioText('fail', '  latency: ["p(99) < 5s", "p(99) < 0.001ms"]'),
    )
    expect(exit).toBe(3)
    // (After an `sse invalid` reason when the machine was too busy to measure it.)
    expect(verdict).toMatch(/^FAILED: (.*; )?sse latency p\(99\) < 0\.001ms: [\d.]+ ms$/)
    expect(result!.passed).toBe(false)
    expect(result!.transports[0]!.thresholds.map((o) => o.passed)).toEqual([true, false])
  })

  test('a threshold tagged with a transport judges that transport only', async () => {
    const { exit, verdict, result } = await run(
      'tagged',
      scenarioText(
        'tagged',
        `  latency: ["p(99) < 5s"]
  "latency{transport:ws}": ["p(99) < 0.001ms"]`,
        { transports: '[sse, ws]' },
      ),
    )
    expect(exit).toBe(3)
    expect(verdict).toMatch(
      /^FAILED: (.*; )?ws latency\{transport:ws\} p\(99\) < 0\.001ms: [\d.]+ ms$/,
    )
    expect(verdict).not.toMatch(/sse latency/)
    const [sse, ws] = result!.transports
    expect(sse!.thresholds.map((o) => [o.name, o.passed])).toEqual([['latency', true]])
    expect(ws!.thresholds.map((o) => [o.name, o.passed])).toEqual([
      ['latency', true],
      ['latency{transport:ws}', false],
    ])
  })

  test('over: every window is judged, and the worst one and when it began are reported', async () => {
    const { exit, stdout, verdict, result } = await run(
      'over',
      scenarioText(
        'over',
        `  latency: [{ threshold: "p(99) < 0.001ms", over: 1s }]
  deliveries: [{ threshold: "count > 0", over: 1s }]`,
        { durationSec: 3 },
      ),
    )
    expect(exit).toBe(3)
    const [latency, deliveries] = result!.transports[0]!.thresholds
    expect(latency).toMatchObject({ name: 'latency', overSec: 1, passed: false })
    expect(latency!.worstWindowAtSec).toBeGreaterThanOrEqual(0)
    expect(latency!.worstWindowAtSec).toBeLessThan(3)
    expect(deliveries).toMatchObject({ overSec: 1, passed: true })
    // Every 1-s window delivered: the least of them is still more than none.
    expect(deliveries!.actual).toBeGreaterThan(0)
    expect(stdout).toMatch(
      /\nthreshold latency p\(99\) < 0\.001ms over 1 s: [\d.]+ ms \(worst 1 s window, from [\d.]+ s\) FAILED\n/,
    )
    expect(verdict).toMatch(
      /^FAILED: (.*; )?sse latency p\(99\) < 0\.001ms over 1 s: [\d.]+ ms \(worst 1 s window, from [\d.]+ s\)$/,
    )
  })

  test('abortOnFail stops the run early: no later transport, abortedBy in result.json, exit 3', async () => {
    const { exit, verdict, result, wallSec, stderr } = await run(
      'abort',
      scenarioText(
        'abort',
        `  latency:
    - { threshold: "p(99) < 0.001ms", abortOnFail: true, delayAbortEval: 1s }`,
        { transports: '[sse, ws]', durationSec: 60 },
      ),
    )
    expect(exit, stderr).toBe(3)
    const abortedBy = result!.abortedBy!
    expect(abortedBy).toMatchObject({ transport: 'sse', threshold: 'latency p(99) < 0.001ms' })
    // Judged once a second, from the first report at or after 1 s of measurement.
    expect(abortedBy.atSec).toBeGreaterThanOrEqual(1)
    expect(abortedBy.atSec).toBeLessThan(10)
    expect(result!.passed).toBe(false)
    // The measurement ended at the abort, far short of its 60 s; ws never started.
    expect(result!.transports.map((t) => t.transport)).toEqual(['sse'])
    expect(result!.transports[0]!.measuredSec).toBeLessThan(abortedBy.atSec + 2)
    expect(wallSec).toBeLessThan(45)
    expect(result!.transports[0]!.thresholds[0]).toMatchObject({ abortOnFail: true, passed: false })
    expect(verdict).toMatch(
      /^FAILED: sse latency p\(99\) < 0\.001ms aborted the run after [\d.]+ s of measurement \(not measured: ws\); (.*; )?sse latency p\(99\) < 0\.001ms: [\d.]+ ms$/,
    )
  })

  test('a threshold that is not one: exit 2, its path, and what to write instead', async () => {
    const { exit, stderr, result } = await run(
      'bad',
      scenarioText(
        'bad',
        `  latency: ["p99 < 100ms"]
  errors: [{ threshold: "rate < 1%", abortOnFail: yes please }]`,
      ),
    )
    expect(exit).toBe(2)
    expect(result).toBeNull()
    expect(stderr).toContain(
      '`thresholds.latency[0]` has an unknown aggregation "p99" (k6 writes p(99)); write p(N), med, avg, min, max, count or rate, got "p99 < 100ms"',
    )
    expect(stderr).toContain(
      '`thresholds.errors[0].abortOnFail` must be true or false, got "yes please"',
    )
  })
})
