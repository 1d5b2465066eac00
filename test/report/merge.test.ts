import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Histogram } from 'hdr-histogram-js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTransportMetrics, mergeWorkerReports } from '../../src/harness/transport-metrics.js'
import { sumIntervals } from '../../src/report/hlog.js'
import {
  decodeHistogram,
  emptyHistogram,
  encodeHistogram,
  latencyIntervalsOf,
  type MergedMetrics,
} from '../../src/report/measurements.js'
import { mergeResultDirs } from '../../src/report/merge.js'
import {
  EXTRA_FIGURE_PATHS,
  EXTRA_HISTOGRAM_KEYS,
  percentilesPathOf,
} from '../../src/report/merge-checks.js'
import { type LoadedResult, readResultDir } from '../../src/report/read-result.js'
import type { RunResult, Segment, TransportResult } from '../../src/report/result-schema.js'
import {
  buildTransportResult,
  percentileDistribution,
  percentilesOf,
  type TransportResultContext,
} from '../../src/report/transport-result.js'
import { writeResultDir } from '../../src/report/write-result.js'
import { expectBuilt, tickstorm } from '../helpers/cli.js'
import { startServer } from '../helpers/server.js'
import { context, runResult, START_MS } from './fixtures.js'

let dir: string
beforeAll(async () => {
  expectBuilt()
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-merge-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

let dirCount = 0
const fresh = (name: string) => join(dir, `${++dirCount}-${name}`)

const TARGET = 'http://127.0.0.1:9'
const PERCENTILES = Array.from({ length: 201 }, (_, i) => i / 2).concat([99.9, 99.99, 99.999])

function expectSameHistogram(actual: Histogram, expected: Histogram, what: string): void {
  expect(actual.totalCount, `${what}: count`).toBe(expected.totalCount)
  expect(actual.maxValue, `${what}: max`).toBe(expected.maxValue)
  expect(actual.mean, `${what}: mean`).toBe(expected.mean)
  for (const p of PERCENTILES) {
    expect(actual.getValueAtPercentile(p), `${what}: p${p}`).toBe(expected.getValueAtPercentile(p))
  }
}

function sumOf(histograms: readonly Histogram[]): Histogram {
  const total = emptyHistogram()
  for (const histogram of histograms) total.add(histogram)
  return total
}

/**
 * Two harness hosts and, for reference, one that recorded everything: over three 1-s intervals
 * latencies 1..10,000 µs × (interval + 1), even ones seen by host 1, odd ones by host 2.
 * `lateSecond`: host 2 measures one more second alone (4,000 events), after host 1 stopped.
 */
function knownSamples(options: { lateSecond?: boolean } = {}): {
  hosts: MergedMetrics[]
  single: MergedMetrics
} {
  const hosts = [0, 1].map((workerId) =>
    createTransportMetrics('sse', { nowMs: START_MS, workerId }),
  )
  const single = createTransportMetrics('sse', { nowMs: START_MS })
  const subscribers = [3, 2]
  hosts.forEach((host, h) => {
    for (let c = 0; c < subscribers[h]!; c++) {
      for (const m of [host, single]) {
        m.connectionOpened()
        m.recordConnectUs(1000 + 100 * h + c)
      }
    }
  })
  for (let s = 0; s < 3; s++) {
    for (let us = 1; us <= 10_000; us++) {
      for (const m of [hosts[us % 2]!, single]) {
        m.recordLatencyUs(us * (s + 1))
        m.addBytes(100 + (us % 7))
      }
    }
    for (const m of [...hosts, single]) m.rollInterval(START_MS + (s + 1) * 1000)
  }
  if (options.lateSecond) {
    for (let us = 1; us <= 4000; us++) hosts[1]!.recordLatencyUs(us)
    hosts[1]!.rollInterval(START_MS + 4000)
  }
  for (const m of [hosts[0]!, single]) {
    m.countError('ECONNRESET')
    m.countError('ECONNRESET')
    m.addGap(3)
  }
  for (const m of [hosts[1]!, single]) {
    m.countError('timeout')
    m.countDuplicate()
    m.countReconnect()
    m.recordRecoveryUs(40_000)
  }
  const merged = [...hosts, single].map((m) => mergeWorkerReports([m.toWorkerReport()]))
  for (const m of [...hosts, single]) m.destroy()
  return { hosts: merged.slice(0, 2), single: merged[2]! }
}

interface HostOptions {
  readonly segment?: Segment
  readonly scenario?: string
  readonly target?: string
  readonly validity?: TransportResult['validity']
  readonly interrupted?: boolean
  readonly failure?: TransportResult['failure']
  /** The scenario's `thresholds:` (default `{ p99Ms: 1000, maxLossRatio: 1 }`). */
  readonly thresholds?: Record<string, unknown>
  /** What the host's sampler said of the target (default: it sampled nothing). */
  readonly server?: TransportResultContext['server']
}

/** A result directory as `tickstorm run` writes it (the real builder and writer). */
async function writeHost(measured: MergedMetrics, options: HostOptions = {}): Promise<string> {
  const transport = buildTransportResult(
    measured,
    context({
      subscribersAsked: measured.connections,
      server: options.server ?? null,
      thresholds: { p99Ms: 1000, maxLossRatio: 1 },
    }),
  )
  if (options.validity) transport.validity = options.validity
  if (options.failure) transport.failure = options.failure
  const name = options.scenario ?? 'split-load'
  const target = options.target ?? TARGET
  const overrides: Partial<RunResult> = {
    runId: `run-${dirCount + 1}`,
    target,
    scenario: {
      name,
      file: `scenarios/${name}.yaml`,
      parsed: {
        name,
        description: 'one workload from two hosts',
        target: target === 'embedded' ? 'embedded' : { url: target },
        thresholds: options.thresholds ?? { p99Ms: 1000, maxLossRatio: 1 },
      },
    },
    passed: transport.validity.valid && options.interrupted !== true && !options.failure,
    // What this tickstorm writes; the cases below are older shapes.
    schemaVersion: 6,
    ...(options.failure ? { schemaVersion: 4 } : {}),
    ...(options.segment ? { segment: options.segment } : {}),
    ...(options.interrupted
      ? {
          schemaVersion: 2,
          interrupted: true,
          interruption: { signal: 'SIGINT', transport: 'sse', phase: 'measuring', notMeasured: [] },
        }
      : {}),
  }
  const path = fresh(options.segment ? `seg${options.segment.index}` : 'whole')
  await writeResultDir(path, runResult([transport], overrides), {
    sse: latencyIntervalsOf(measured),
  })
  return path
}

describe('merging result directories written by the real writer', () => {
  test('two halves give exactly the histogram of all samples, per interval and in total; counts sum', async () => {
    const { hosts, single } = knownSamples()
    const a = await writeHost(hosts[0]!, { segment: { index: 1, count: 2 } })
    const b = await writeHost(hosts[1]!, { segment: { index: 2, count: 2 } })
    const out = fresh('merged')
    const { result, warnings } = await mergeResultDirs([b, a], { outDir: out })
    expect(warnings).toEqual([])

    // What was written reads back as a normal result directory.
    const loaded = await readResultDir(out)
    expect(loaded.result).toEqual(result)
    expect(result.mergedFrom?.map((from) => [from.dir, from.segment])).toEqual([
      [a, { index: 1, count: 2 }],
      [b, { index: 2, count: 2 }],
    ])
    expect(result.segment).toBeUndefined()
    const sse = result.transports[0]!
    const reference = buildTransportResult(single, context({ subscribersAsked: 5, server: null }))

    // Latency: the merged histograms are the one-host histograms, not an average of two.
    expect(sse.latencyUs).toEqual(percentilesOf(single.latency))
    expect(sse.latencyDistribution).toEqual(percentileDistribution(single.latency))
    expect(sse.connectTimeUs).toEqual(percentilesOf(single.connectTime))
    expect(sse.recoveryUs).toEqual(percentilesOf(single.recovery))
    const intervals = loaded.intervals.get('sse')!
    expect(intervals.map((i) => [i.startMs - START_MS, i.endMs - START_MS])).toEqual([
      [0, 1000],
      [1000, 2000],
      [2000, 3000],
    ])
    intervals.forEach((interval, k) => {
      expectSameHistogram(interval.histogram, single.intervals[k]!.latency, `interval ${k}`)
    })
    expectSameHistogram(loaded.histograms.get('sse')!, single.latency, 'the whole log')

    // Counts add up; rates are the one host's over the same window.
    for (const key of [
      'deliveries',
      'bytes',
      'gaps',
      'lost',
      'duplicates',
      'errors',
      'errorsByKind',
      'reconnects',
      'lossRatio',
      'errorRate',
      'deliveriesPerSec',
      'bytesPerEvent',
      'timeSeries',
    ] as const) {
      expect(sse[key], key).toEqual(reference[key])
    }
    expect(sse.bytesPerSec).toBeCloseTo(reference.bytesPerSec, 6)
    expect(sse.deliveries).toBe(30_000)
    expect(sse.errorsByKind).toEqual({ ECONNRESET: 2, timeout: 1 })
    expect(sse.subscribers).toEqual({ asked: 5, connectedMax: 5, connectedAtEnd: 5 })
    expect(sse.measuredSec).toBe(3)
    // The harnesses of two 2-core hosts: four cores, CPU added up.
    expect(sse.harness.cores).toBe(4)
    expect(sse.harness.cpuPercentAvg).toBe(120)
    expect(sse.validity).toEqual({ valid: true, invalidReasons: [] })
    expect(sse.thresholds.map((t) => [t.name, t.passed])).toEqual([
      ['latency', true],
      ['loss', true],
    ])
    expect(result.passed).toBe(true)
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('merged from 2 harness runs')
  })

  test('rates count only the window every host measured', async () => {
    const { hosts } = knownSamples({ lateSecond: true })
    const dirs = [
      await writeHost(hosts[0]!, { segment: { index: 1, count: 2 } }),
      await writeHost(hosts[1]!, { segment: { index: 2, count: 2 } }),
    ]
    const { result, warnings } = await mergeResultDirs(dirs, { outDir: fresh('merged') })
    const sse = result.transports[0]!
    expect(sse.deliveries).toBe(34_000)
    // 30,000 deliveries in the 3 s both measured; the lone fourth second is not the fleet's rate.
    expect(sse.measuredSec).toBe(3)
    expect(sse.deliveriesPerSec).toBe(10_000)
    expect(sse.timeSeries.map((point) => point.deliveries)).toEqual([10_000, 10_000, 10_000, 4000])
    expect(warnings).toEqual([
      'sse: the hosts measured together for 3.0 s of 4.0 s; the rest of the histograms saw less than the whole load (start the hosts closer together)',
    ])
  })

  test('the merged run is invalid when any input was, and says which', async () => {
    const { hosts } = knownSamples()
    const reason =
      'harness event-loop delay p99 was 80.0 ms (bound 50.0 ms): receipt times were late by the harness own lag'
    const a = await writeHost(hosts[0]!, { segment: { index: 1, count: 2 } })
    const b = await writeHost(hosts[1]!, {
      segment: { index: 2, count: 2 },
      validity: { valid: false, invalidReasons: [reason] },
    })
    const out = fresh('merged')
    const merge = tickstorm(['merge', a, b, '--out', out])
    expect(await merge.exit, merge.stderr()).toBe(3)
    const { result } = await readResultDir(out)
    expect(result.transports[0]!.validity).toEqual({
      valid: false,
      invalidReasons: [`segment 2/2 (${b}): ${reason}`],
    })
    expect(result.passed).toBe(false)
    expect(merge.stdout()).toContain(`INVALID: segment 2/2 (${b}): ${reason}`)
    expect(merge.stdout()).toContain('FAILED')
  })
})

/** The schema version 6 figures one host recorded, µs: each list is that histogram's samples. */
interface HostFigures {
  readonly reconnected: readonly number[]
  readonly caughtUp: readonly number[]
  readonly firstNew: readonly number[]
  readonly spread: readonly number[]
  readonly incomplete: number
  readonly staleness: readonly number[]
  readonly acknowledged: readonly number[]
  readonly changes: number
}

/**
 * One histogram of every sample in `lists`, as a harness holds it: its workers send their
 * histograms encoded, so the max is the top of its bucket, as in every merged histogram.
 */
function histogramOf(...lists: (readonly number[])[]): Histogram {
  const histogram = emptyHistogram()
  for (const list of lists) for (const us of list) histogram.recordValue(us)
  return decodeHistogram(encodeHistogram(histogram))
}

/** `measured` with the split, spread and staleness a harness would have recorded as `figures`. */
function withFigures(measured: MergedMetrics, figures: HostFigures | null): MergedMetrics {
  if (figures === null) return measured
  return {
    ...measured,
    split: {
      reconnected: histogramOf(figures.reconnected),
      caughtUp: histogramOf(figures.caughtUp),
      firstNew: histogramOf(figures.firstNew),
    },
    spread: { spread: histogramOf(figures.spread), incomplete: figures.incomplete },
    staleness: histogramOf(figures.staleness),
    watchListChanges: { changes: figures.changes, acknowledged: histogramOf(figures.acknowledged) },
  }
}

const range = (from: number, count: number, step: number) =>
  Array.from({ length: count }, (_, i) => from + i * step)

/**
 * Two hosts far apart: host 1 has many fast recoveries, host 2 a few slow ones, so the mean of
 * their p99s (≈ 112 ms for caught up) is nowhere near the p99 of all of them (≈ 209 ms).
 */
const FIGURES: readonly [HostFigures, HostFigures] = [
  {
    reconnected: range(1_000, 1_000, 3),
    caughtUp: range(5_000, 1_000, 10),
    firstNew: range(2_000, 1_000, 7),
    spread: range(100, 2_000, 5),
    incomplete: 3,
    staleness: range(50_000, 500, 40),
    acknowledged: range(700, 321, 13),
    changes: 330,
  },
  {
    reconnected: range(90_000, 100, 50),
    caughtUp: range(200_000, 100, 100),
    firstNew: range(150_000, 100, 80),
    spread: range(40_000, 300, 100),
    incomplete: 4,
    staleness: range(1_000, 1_500, 2),
    acknowledged: range(30_000, 40, 900),
    changes: 41,
  },
]

describe('the figures of schema version 6 add up like latency: histograms, never percentiles', () => {
  let halves: MergedMetrics[]
  beforeAll(() => {
    halves = knownSamples().hosts
  })

  test('recovery split, spread and staleness are the percentiles of one histogram of both hosts; incomplete sums; thresholds judge the sum', async () => {
    const thresholds = {
      // Host 1 alone (p99 ≈ 15 ms) and the mean of the hosts' p99s (≈ 112 ms) pass; all (≈ 209 ms) fail.
      caughtUp: ['p(99) < 150ms'],
      // p(95) is not kept as a percentile: read from the merged histogram.
      reconnected: ['p(95) < 1s'],
      spread: ['max < 1s'],
      staleness: ['med < 10s'],
      // Host 2's few slow acknowledgements (30–65 ms) are 11 % of all: p(90) is one of them.
      changeAcknowledged: ['p(90) < 10ms'],
    }
    const dirs = [
      await writeHost(withFigures(halves[0]!, FIGURES[0]), {
        segment: { index: 1, count: 2 },
        thresholds,
      }),
      await writeHost(withFigures(halves[1]!, FIGURES[1]), {
        segment: { index: 2, count: 2 },
        thresholds,
      }),
    ]
    const inputs = await Promise.all(dirs.map((d) => readResultDir(d)))
    const out = fresh('merged-figures')
    const { result, warnings } = await mergeResultDirs(dirs, { outDir: out })
    // The spread's caveat only: every host had every figure.
    expect(warnings).toEqual([expect.stringMatching(/^sse: the merged spread adds each host's/)])
    expect((await readResultDir(out)).result).toEqual(result)
    const sse = result.transports[0]!

    const both = (pick: (figures: HostFigures) => readonly number[]) =>
      histogramOf(pick(FIGURES[0]), pick(FIGURES[1]))
    expect(sse.recoverySplit).toEqual({
      reconnectedUs: percentilesOf(both((f) => f.reconnected)),
      caughtUpUs: percentilesOf(both((f) => f.caughtUp)),
      firstNewUs: percentilesOf(both((f) => f.firstNew)),
    })
    expect(sse.spread).toEqual({ spreadUs: percentilesOf(both((f) => f.spread)), incomplete: 7 })
    expect(sse.stalenessUs).toEqual(percentilesOf(both((f) => f.staleness)))
    expect(sse.watchListChanges).toEqual({
      changes: 371,
      acknowledgedUs: percentilesOf(both((f) => f.acknowledged)),
    })
    expect(sse.recoverySplit!.caughtUpUs.count).toBe(1_100)

    // Every key the inputs carry, without naming them: the merged histogram is their sum.
    const keys = new Set(
      inputs.flatMap((input) => Object.keys(input.result.transports[0]!.extraHistograms ?? {})),
    )
    expect(Object.keys(sse.extraHistograms ?? {}).sort()).toEqual([...keys].sort())
    for (const key of keys) {
      const parts = inputs.map((input) =>
        decodeHistogram(
          (input.result.transports[0]!.extraHistograms as Record<string, string>)[key]!,
        ),
      )
      expectSameHistogram(
        decodeHistogram((sse.extraHistograms as Record<string, string>)[key]!),
        sumOf(parts),
        key,
      )
    }

    const outcome = (name: string) => sse.thresholds.find((t) => t.name === name)!
    const caughtUpP99Ms = both((f) => f.caughtUp).getValueAtPercentile(99) / 1000
    const hostsP99s = inputs.map((i) => i.result.transports[0]!.recoverySplit!.caughtUpUs.p99)
    expect((hostsP99s[0]! + hostsP99s[1]!) / 2 / 1000).toBeLessThan(150)
    expect(outcome('caughtUp')).toMatchObject({ actual: caughtUpP99Ms, passed: false })
    expect(caughtUpP99Ms).toBeGreaterThan(150)
    expect(outcome('reconnected')).toMatchObject({
      actual: both((f) => f.reconnected).getValueAtPercentile(95) / 1000,
      passed: true,
    })
    expect(outcome('spread')).toMatchObject({
      actual: both((f) => f.spread).maxValue / 1000,
      passed: true,
    })
    expect(outcome('staleness')).toMatchObject({
      actual: both((f) => f.staleness).getValueAtPercentile(50) / 1000,
      passed: true,
    })
    expect(outcome('changeAcknowledged')).toMatchObject({
      actual: both((f) => f.acknowledged).getValueAtPercentile(90) / 1000,
      passed: false,
    })
    expect(result.passed).toBe(false)
  })

  test('a figure one host lacks is merged from the other, and a warning names both', async () => {
    const a = await writeHost(withFigures(halves[0]!, FIGURES[0]), {
      segment: { index: 1, count: 2 },
      thresholds: { caughtUp: ['p(99) < 150ms'] },
    })
    // Nothing dropped on host 2 and no spread sample: it recorded no split and no spread.
    // Its staleness histogram is there, empty (sse holds values; nothing was conflated).
    const b = await writeHost(halves[1]!, {
      segment: { index: 2, count: 2 },
      thresholds: { caughtUp: ['p(99) < 150ms'] },
    })
    const { result, warnings } = await mergeResultDirs([a, b], { outDir: fresh('merged') })
    const sse = result.transports[0]!
    expect(sse.recoverySplit?.caughtUpUs).toEqual(percentilesOf(histogramOf(FIGURES[0].caughtUp)))
    expect(sse.spread).toEqual({
      spreadUs: percentilesOf(histogramOf(FIGURES[0].spread)),
      incomplete: 3,
    })
    expect(sse.stalenessUs).toEqual(percentilesOf(histogramOf(FIGURES[0].staleness)))
    expect(sse.watchListChanges).toEqual({
      changes: 330,
      acknowledgedUs: percentilesOf(histogramOf(FIGURES[0].acknowledged)),
    })
    expect(warnings).toHaveLength(5)
    expect(sse.thresholds.find((t) => t.name === 'caughtUp')?.passed).toBe(true)
    for (const path of [
      'recoverySplit.reconnectedUs',
      'recoverySplit.caughtUpUs',
      'recoverySplit.firstNewUs',
      'spread.spreadUs',
      'watchListChanges.acknowledgedUs',
    ]) {
      expect(warnings).toContain(
        `sse: ${path} is merged from segment 1/2 (${a}) only; segment 2/2 (${b}) recorded none (no sample of it, or a tickstorm that did not measure it)`,
      )
    }
    // One host's spread is not a lower bound of anything more than itself.
    expect(warnings.join('\n')).not.toContain('the merged spread')
  })

  test('no host recorded a figure: the merged run has none, and its threshold fails as not measured', async () => {
    const dirs = [
      await writeHost(halves[0]!, {
        segment: { index: 1, count: 2 },
        thresholds: { caughtUp: ['p(99) < 5s'] },
      }),
      await writeHost(halves[1]!, {
        segment: { index: 2, count: 2 },
        thresholds: { caughtUp: ['p(99) < 5s'] },
      }),
    ]
    const { result, warnings } = await mergeResultDirs(dirs, { outDir: fresh('merged') })
    const sse = result.transports[0]!
    expect(sse.recoverySplit).toBeUndefined()
    expect(sse.extraHistograms?.caughtUpUs).toBeUndefined()
    // Staleness was measured on both (sse holds values), with no sample: 0 of 0, as one run says.
    expect(sse.stalenessUs?.count).toBe(0)
    expect(warnings).toEqual([])
    expect(sse.thresholds.find((t) => t.name === 'caughtUp')?.passed).toBe(false)
  })

  test("the target's CPU and memory series are not merged, and a warning says whose they were", async () => {
    const server = {
      cpuPercentAvg: 40,
      cpuPercentMax: 55,
      rssBytesMax: 80e6,
      rssBytesBaseline: 60e6,
      samples: [{ atMs: START_MS + 1000, cpuPercent: 40, rssBytes: 80e6 }],
    }
    const a = await writeHost(halves[0]!, { segment: { index: 1, count: 2 }, server })
    const b = await writeHost(halves[1]!, { segment: { index: 2, count: 2 } })
    const { result, warnings } = await mergeResultDirs([a, b], { outDir: fresh('merged') })
    expect(result.transports[0]!.serverSeries).toBeUndefined()
    expect(result.transports[0]!.server).toBeNull()
    expect(warnings).toEqual([
      `sse: the target's CPU and memory sampled by segment 1/2 (${a}) are not merged: each host sampled a process of its own machine by pid, and which one is the target's a result cannot tell; read them in those inputs`,
    ])
  })

  test('each extraHistograms key is merged into the place a run writes its percentiles', async () => {
    const written = await writeHost(withFigures(halves[0]!, FIGURES[0]), {
      segment: { index: 1, count: 2 },
    })
    const transport = (await readResultDir(written)).result.transports[0]!
    // A run writes every key (the figures above have samples of each) …
    expect(Object.keys(transport.extraHistograms ?? {}).sort()).toEqual(
      [...EXTRA_HISTOGRAM_KEYS].sort(),
    )
    // … and the percentiles where the merge puts the sum are that key's own.
    for (const key of EXTRA_HISTOGRAM_KEYS) {
      const path = percentilesPathOf(transport, key)
      expect(path, key).toEqual(EXTRA_FIGURE_PATHS[key])
      const at = path!.reduce<unknown>(
        (value, field) => (value as Record<string, unknown>)[field],
        transport,
      )
      const { max: _max, ...expected } = percentilesOf(
        decodeHistogram(transport.extraHistograms![key]!),
      )
      expect(at, key).toMatchObject(expected)
    }
  })

  test('percentiles kept without their histogram are refused: they cannot be added', async () => {
    const a = await writeHost(withFigures(halves[0]!, FIGURES[0]), {
      segment: { index: 1, count: 2 },
    })
    const b = await writeHost(withFigures(halves[1]!, FIGURES[1]), {
      segment: { index: 2, count: 2 },
    })
    const file = join(b, 'result.json')
    const written = JSON.parse(await readFile(file, 'utf8')) as RunResult
    delete written.transports[0]!.extraHistograms
    await writeFile(file, JSON.stringify(written))
    await expect(mergeResultDirs([a, b], { outDir: fresh('refused') })).rejects.toThrow(
      `segment 2/2 (${b}) has sse recoverySplit.reconnectedUs, recoverySplit.caughtUpUs, recoverySplit.firstNewUs, spread.spreadUs, stalenessUs, watchListChanges.acknowledgedUs without their histograms (extraHistograms), and percentiles cannot be added: run it again with this tickstorm`,
    )
  })
})

describe('merge refuses what does not add up: exit 2 and every problem named', () => {
  let halves: MergedMetrics[]
  beforeAll(() => {
    halves = knownSamples().hosts
  })

  async function refused(args: string[], ...messages: string[]): Promise<string> {
    const out = args.includes('--out') ? [] : ['--out', fresh('refused')]
    const merge = tickstorm(['merge', ...args, ...out])
    expect(await merge.exit, merge.stdout() + merge.stderr()).toBe(2)
    for (const message of messages) expect(merge.stderr()).toContain(message)
    return merge.stderr()
  }

  test('a segment given twice, and one missing', async () => {
    const one = await writeHost(halves[0]!, { segment: { index: 1, count: 3 } })
    const oneAgain = await writeHost(halves[1]!, { segment: { index: 1, count: 3 } })
    const two = await writeHost(halves[1]!, { segment: { index: 2, count: 3 } })
    const stderr = await refused(
      [one, oneAgain, two],
      'cannot merge these runs:',
      `segment 1/3 is given 2 times (${one}, ${oneAgain}): its subscribers would count twice`,
      'segment 3/3 is missing: without it the merged run lacks that share of the workload',
      'TS_ERR_USAGE',
    )
    expect(stderr).not.toContain('segment 2/3 is')
  })

  test('segments of different splits, and a run of the whole scenario among segments', async () => {
    const half = await writeHost(halves[0]!, { segment: { index: 1, count: 2 } })
    const third = await writeHost(halves[1]!, { segment: { index: 2, count: 3 } })
    const whole = await writeHost(halves[1]!)
    await refused(
      [half, third, whole],
      `the segments are of different splits (segment 1/2 (${half}), segment 2/3 (${third}))`,
      `${whole} ran the whole scenario but`,
    )
  })

  test('another scenario, another target, an embedded target', async () => {
    const a = await writeHost(halves[0]!, { segment: { index: 1, count: 3 } })
    const other = await writeHost(halves[1]!, {
      segment: { index: 2, count: 3 },
      scenario: 'other',
    })
    const elsewhere = await writeHost(halves[1]!, {
      segment: { index: 3, count: 3 },
      target: 'http://10.0.0.1:8080',
    })
    await refused(
      [a, other, elsewhere],
      `segment 2/3 (${other}) is scenario other, segment 1/3 (${a}) is split-load`,
      `segment 3/3 (${elsewhere}) measured http://10.0.0.1:8080, segment 1/3 (${a}) measured ${TARGET}: one target only`,
    )
    const embedded = await writeHost(halves[0]!, { target: 'embedded' })
    const embedded2 = await writeHost(halves[1]!, { target: 'embedded' })
    await refused(
      [embedded, embedded2, '--force'],
      `${embedded} ran against an embedded server, one of its own: only runs against one URL target add up`,
    )
  })

  test('an interrupted segment: its share is partial, so the sum would not be the workload', async () => {
    const a = await writeHost(halves[0]!, { segment: { index: 1, count: 2 } })
    const cut = await writeHost(halves[1]!, { segment: { index: 2, count: 2 }, interrupted: true })
    await refused(
      [a, cut],
      `segment 2/2 (${cut}) was interrupted (SIGINT): its share was not measured in full`,
    )
  })

  test('a segment with a failed transport: its share was not measured, so the sum would not be the workload', async () => {
    const a = await writeHost(halves[0]!, { segment: { index: 1, count: 2 } })
    const failed = await writeHost(halves[1]!, {
      segment: { index: 2, count: 2 },
      failure: { message: 'the target closed every connection' },
    })
    await refused(
      [a, failed],
      `segment 2/2 (${failed}) has a failed sse run (the target closed every connection): its share was not measured`,
    )
  })

  test('runs without --segment only with --force, which then says what the target carried', async () => {
    const a = await writeHost(halves[0]!)
    const b = await writeHost(halves[1]!)
    await refused(
      [a, b],
      'none of these runs was made with --segment: each carried the whole scenario, so together they put 2 times its load on the target',
      'pass --force',
    )
    const out = fresh('forced')
    const forced = tickstorm(['merge', a, b, '--force', '--out', out])
    expect(await forced.exit, forced.stderr()).toBe(0)
    expect(forced.stderr()).toContain(
      'warning: merged 2 runs of the whole scenario (--force): the target carried 2 times its load',
    )
    const { result } = await readResultDir(out)
    expect(result.mergedFrom?.map((from) => from.segment)).toEqual([null, null])
    expect(result.transports[0]!.subscribers.asked).toBe(5)
  })

  test('an input that is not a result, a merged result, an --out that would overwrite', async () => {
    const a = await writeHost(halves[0]!, { segment: { index: 1, count: 2 } })
    const b = await writeHost(halves[1]!, { segment: { index: 2, count: 2 } })
    const notResult = fresh('empty')
    const invalid = tickstorm(['merge', a, notResult, '--out', fresh('x')])
    expect(await invalid.exit).toBe(2)
    expect(invalid.stderr()).toContain(
      `cannot read the result file ${join(notResult, 'result.json')}`,
    )
    expect(invalid.stderr()).toContain('TS_ERR_INVALID_RESULT')

    const merged = fresh('merged')
    await mergeResultDirs([a, b], { outDir: merged })
    await refused(
      [merged, a],
      `${merged} is already a merge of 2 runs: merge its inputs (${a}, ${b}) instead`,
    )
    await refused([a, b, '--out', a], `--out ${a} is one of the inputs`)
    const again = tickstorm(['merge', a, b, '--out', merged])
    expect(await again.exit).toBe(2)
    expect(again.stderr()).toContain(`${merged} already holds a result`)

    const one = tickstorm(['merge', a])
    expect(await one.exit).toBe(2)
    expect(one.stderr()).toContain('give two or more result directories')
  })

  test('merge --help', async () => {
    const help = tickstorm(['merge', '--help'])
    expect(await help.exit).toBe(0)
    expect(help.stdout()).toContain(
      'Usage: tickstorm merge <dir> <dir> [...] [--out DIR] [--force]',
    )
    const main = tickstorm(['--help'])
    expect(await main.exit).toBe(0)
    expect(main.stdout()).toContain('tickstorm merge <dir> <dir> ...')
  })
})

describe('several harness hosts against one real server', () => {
  let scenarioFile: string
  let embeddedFile: string
  beforeAll(async () => {
    const server = await startServer({ preset: 'normal', seed: 5, ratePerSec: 400 })
    scenarioFile = join(dir, 'split.yaml')
    await writeFile(
      scenarioFile,
      `name: split
description: one workload from two harness hosts
target: { url: ${server.url} }
transports: [sse, ws]
subscribers: { count: 5, rampPerSec: 100, watchList: { size: 10, pick: zipf } }
warmupSec: 1
durationSec: 4
workers: 1
thresholds: { p99Ms: 5000, maxLossRatio: 0 }
`,
    )
    embeddedFile = join(dir, 'embedded.yaml')
    await writeFile(
      embeddedFile,
      `name: embedded
description: a server per harness host
transports: [sse]
subscribers: { count: 4 }
durationSec: 1
`,
    )
  })

  test('two --segment halves run at once, merge into one result that report and compare read', async () => {
    const results = [fresh('host-1'), fresh('host-2')]
    const runs = [1, 2].map((i) =>
      tickstorm(['run', scenarioFile, '--segment', `${i}/2`, '--results', results[i - 1]!]),
    )
    for (const run of runs) expect([0, 3], run.stdout() + run.stderr()).toContain(await run.exit)
    const dirs = await Promise.all(
      results.map(async (parent) => join(parent, ...(await readdir(parent)))),
    )
    expect(dirs[0]).toMatch(/\d{8}T\d{6}Z-split-seg1of2$/)
    expect(dirs[1]).toMatch(/\d{8}T\d{6}Z-split-seg2of2$/)
    const inputs: LoadedResult[] = await Promise.all(dirs.map((d) => readResultDir(d)))
    expect(inputs.map((input) => input.result.segment)).toEqual([
      { index: 1, count: 2 },
      { index: 2, count: 2 },
    ])
    // 5 subscribers over 2 hosts: 3 + 2, exactly.
    for (const input of inputs) {
      expect(input.result.transports.map((t) => t.subscribers.asked)).toEqual(
        input.result.segment!.index === 1 ? [3, 3] : [2, 2],
      )
    }

    const out = fresh('merged')
    const merge = tickstorm(['merge', ...dirs, '--out', out])
    const code = await merge.exit
    const merged = await readResultDir(out)
    expect(code, merge.stderr()).toBe(merged.result.passed ? 0 : 3)
    expect(merged.result.mergedFrom?.map((from) => from.runId)).toEqual(
      inputs.map((input) => input.result.runId),
    )
    for (const transport of merged.result.transports) {
      const name = transport.transport
      const parts = inputs.map(
        (input) => input.result.transports.find((t) => t.transport === name)!,
      )
      expect(transport.subscribers.asked).toBe(5)
      for (const key of [
        'deliveries',
        'bytes',
        'gaps',
        'duplicates',
        'outOfOrder',
        'lost',
        'errors',
        'reconnects',
        'snapshots',
        'resets',
        'connects',
      ] as const) {
        expect(transport[key], `${name} ${key}`).toBe(
          parts.reduce((sum, part) => sum + (part[key] ?? 0), 0),
        )
      }
      expect(transport.deliveries, name).toBeGreaterThan(0)
      // The merged histograms are the sums of the hosts': in total, and in the merged .hlog.
      const totals = parts.map((part) => decodeHistogram(part.histograms!.latencyUs))
      expect(transport.latencyUs).toEqual(percentilesOf(sumOf(totals)))
      expect(transport.latencyUs.count).toBe(parts.reduce((s, p) => s + p.latencyUs.count, 0))
      expectSameHistogram(
        merged.histograms.get(name)!,
        sumOf(inputs.map((input) => sumIntervals(input.intervals.get(name)!))),
        `${name} .hlog`,
      )
      expect(transport.validity.valid).toBe(parts.every((part) => part.validity.valid))
      expect(transport.measuredSec).toBeGreaterThanOrEqual(1)
    }

    const report = tickstorm(['report', out])
    expect(await report.exit, report.stderr()).toBe(0)
    expect(report.stdout()).toContain('merged from 2 harness runs:')
    const compare = tickstorm(['compare', out, out])
    expect(await compare.exit, compare.stderr()).toBe(0)
    expect(compare.stdout()).toContain('no regression')
  }, 90_000)

  test('--segment is refused for an embedded target, and when malformed: exit 2', async () => {
    const embedded = tickstorm(['run', embeddedFile, '--segment', '1/2'])
    expect(await embedded.exit).toBe(2)
    expect(embedded.stderr()).toContain(
      '--segment 1/2: scenario embedded has an embedded target, so every harness host would start and measure a server of its own',
    )
    for (const [segment, why] of [
      ['0/3', 'i must be from 1 to n (3)'],
      ['4/3', 'i must be from 1 to n (3)'],
      ['1/0', 'n must be from 1 to 1000'],
      ['x', 'not two whole numbers joined by /'],
    ]) {
      const run = tickstorm(['run', scenarioFile, '--segment', segment!])
      expect(await run.exit, segment).toBe(2)
      expect(run.stderr()).toContain(`--segment must be i/n`)
      expect(run.stderr()).toContain(`${why}, got "${segment}"`)
    }
    const tooMany = tickstorm(['run', scenarioFile, '--segment', '6/6'])
    expect(await tooMany.exit).toBe(2)
    expect(tooMany.stderr()).toContain('use at most 5 segments')
  })
})
