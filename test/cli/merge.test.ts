import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Histogram } from 'hdr-histogram-js'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { renderJunit } from '../../src/report/junit.js'
import { decodeHistogram, emptyHistogram } from '../../src/report/measurements.js'
import { readResultDir } from '../../src/report/read-result.js'
import type { TransportResult } from '../../src/report/result-schema.js'
import { summaryOf } from '../../src/report/summary-json.js'
import { percentilesOf } from '../../src/report/transport-result.js'
import { expectBuilt, tickstorm } from '../helpers/cli.js'
import { startServer } from '../helpers/server.js'

let dir: string
beforeAll(async () => {
  expectBuilt()
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-merge-cli-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function sumOf(histograms: readonly Histogram[]): Histogram {
  const total = emptyHistogram()
  for (const histogram of histograms) total.add(histogram)
  return total
}

const total = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0)

test('two --segment hosts with a drop merge into a result with their recovery split and spread added, and merge writes the merged verdict for CI', async () => {
  const server = await startServer({ preset: 'normal', seed: 7, ratePerSec: 400 })
  const scenarioFile = join(dir, 'split-drop.yaml')
  // Half of each host's subscribers cut once, so both hosts have recoveries to split.
  await writeFile(
    scenarioFile,
    `name: split-drop
description: one workload from two harness hosts, half the subscribers cut once
target: { url: ${server.url} }
transports: [sse, ws]
subscribers: { count: 6, rampPerSec: 100, watchList: { size: 10, pick: zipf } }
warmupSec: 1
durationSec: 4
workers: 1
faults:
  - { atSec: 1, kind: drop, fraction: 0.5 }
thresholds:
  caughtUp: ['p(99) < 10s']
  reconnected: ['p(95) < 10s']
`,
  )
  const parents = [join(dir, 'host-1'), join(dir, 'host-2')]
  const runs = [1, 2].map((i) =>
    tickstorm(['run', scenarioFile, '--segment', `${i}/2`, '--results', parents[i - 1]!]),
  )
  // 3: a run the shared machine's load made invalid still writes its result.
  for (const run of runs) expect([0, 3], run.stdout() + run.stderr()).toContain(await run.exit)
  const dirs = await Promise.all(
    parents.map(async (parent) => join(parent, ...(await readdir(parent)))),
  )
  const inputs = await Promise.all(dirs.map((d) => readResultDir(d)))

  const out = join(dir, 'merged')
  const summaryFile = join(dir, 'summary.json')
  const junitFile = join(dir, 'junit.xml')
  const merge = tickstorm([
    'merge',
    ...dirs,
    '--out',
    out,
    '--summary-json',
    summaryFile,
    '--junit',
    junitFile,
  ])
  const code = await merge.exit
  const { result } = await readResultDir(out)
  expect(code, merge.stderr()).toBe(result.passed ? 0 : 3)

  for (const transport of result.transports) {
    const name = transport.transport
    const parts = inputs.map(
      (input) => input.result.transports.find((t) => t.transport === name) as TransportResult,
    )
    // 3 subscribers per host, half cut: each host recovered some.
    for (const part of parts) expect(part.recoverySplit, `${name} input split`).toBeDefined()
    const split = transport.recoverySplit
    expect(split, name).toBeDefined()
    for (const key of ['reconnectedUs', 'caughtUpUs', 'firstNewUs'] as const) {
      expect(split![key].count, `${name} ${key}`).toBe(
        total(parts.map((part) => part.recoverySplit![key].count)),
      )
      expect(split![key].count, `${name} ${key}`).toBeGreaterThan(0)
      const added = sumOf(parts.map((part) => decodeHistogram(part.extraHistograms![key]!)))
      expect(split![key], `${name} ${key}`).toEqual(percentilesOf(added))
    }
    expect(transport.reconnects).toBe(total(parts.map((part) => part.reconnects)))
    // Reconnects per interval carry over, so `reconnects` windows judge the fleet's.
    const reconnectsInIntervals = total(
      parts.flatMap((part) => part.timeSeries.map((point) => point.reconnects ?? 0)),
    )
    expect(reconnectsInIntervals, name).toBeGreaterThan(0)
    expect(total(transport.timeSeries.map((point) => point.reconnects ?? 0))).toBe(
      reconnectsInIntervals,
    )
    for (const part of parts) expect(part.spread, `${name} input spread`).toBeDefined()
    expect(transport.spread?.spreadUs.count).toBe(
      total(parts.map((part) => part.spread!.spreadUs.count)),
    )
    expect(transport.spread?.incomplete).toBe(total(parts.map((part) => part.spread!.incomplete)))
    // Each host saw only its own subscribers' receipts: the merge says what its spread is.
    expect(merge.stderr()).toContain(`warning: ${name}: the merged spread adds each host's spread`)
    // The thresholds judged the merged figures.
    const caughtUp = transport.thresholds.find((t) => t.name === 'caughtUp')
    expect(caughtUp?.actual, name).toBe(split!.caughtUpUs.p99 / 1000)
    expect(caughtUp?.passed, name).toBe(true)
  }

  // The CI files are the merged run's: its id, its verdict, its thresholds.
  const summary = JSON.parse(await readFile(summaryFile, 'utf8'))
  expect(summary).toEqual(summaryOf(result))
  expect(summary.runId).toBe(result.runId)
  expect(inputs.map((input) => input.result.runId)).not.toContain(summary.runId)
  expect(summary.verdict).toBe(result.passed ? 'PASSED' : 'FAILED')
  const junit = await readFile(junitFile, 'utf8')
  expect(junit).toBe(renderJunit(result))
  expect(junit).toContain('<testsuites name="tickstorm split-drop"')
  expect(junit).toContain('caughtUp p(99) &lt; 10s')

  const help = tickstorm(['merge', '--help'])
  expect(await help.exit).toBe(0)
  expect(help.stdout()).toContain('--summary-json <file>')
  expect(help.stdout()).toContain('--junit <file>')
}, 120_000)
