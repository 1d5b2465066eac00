import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { decodeHistogram } from '../../src/report/measurements.js'
import type { RunResult } from '../../src/report/result-schema.js'
import { tickstorm } from '../helpers/cli.js'

// Executor arrival-rate through `tickstorm run` against an embedded server: subscribers arrive as
// a Poisson process and leave after exponential stays, and the run's result.json must show the
// process the scenario asked for. The bounds are 4 standard deviations of each estimate (a false
// failure about once in 16,000 runs), from the process's own statistics, not tuned to a run.

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-arrivals-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function run(name: string, body: string): Promise<{ result: RunResult; stdout: string }> {
  const file = join(dir, `${name}.yaml`)
  await writeFile(file, body)
  const results = join(dir, name)
  const cli = tickstorm(['run', file, '--results', results])
  expect(await cli.exit, cli.stderr()).toBe(0)
  const [only] = await readdir(results)
  const text = await readFile(join(results, only!, 'result.json'), 'utf8')
  return { result: JSON.parse(text) as RunResult, stdout: cli.stdout() }
}

const RATE_PER_SEC = 40
const SESSION_SEC = 1
const DURATION_SEC = 10

describe('executor arrival-rate', () => {
  test('arrivals ≈ rate × duration, subscribers ≈ rate × mean stay (Little), every one that left was closed', async () => {
    const { result, stdout } = await run(
      'churn-small',
      `name: churn-small
description: Poisson arrivals with exponential stays
server: { preset: normal, seed: 5 }
transports: [sse]
executor: arrival-rate
arrivalRate:
  ratePerSec: ${RATE_PER_SEC}
  sessionSec: { mean: ${SESSION_SEC}, distribution: exponential }
  maxSubscribers: 400
  seed: 7
subscribers: { watchList: { size: 8, pick: zipf } }
warmupSec: 4
durationSec: ${DURATION_SEC}
workers: 1
thresholds: { maxLossRatio: 0, maxErrorRate: 0 }
`,
    )
    // Arrivals came in version 3; this tickstorm writes 4 (a transport's failure), which has them too.
    expect(result.schemaVersion).toBe(6)
    const sse = result.transports[0]!
    const arrivals = sse.arrivals!
    expect(arrivals).toMatchObject({
      ratePerSec: RATE_PER_SEC,
      sessionSecMean: SESSION_SEC,
      sessionDistribution: 'exponential',
      maxSubscribers: 400,
      seed: 7,
      dropped: 0,
    })

    // Arrivals in the window are Poisson(λT): mean 400, sd 20.
    const expectedArrivals = RATE_PER_SEC * sse.measuredSec
    const arrivalsSd = Math.sqrt(expectedArrivals)
    expect(Math.abs(arrivals.arrivals - expectedArrivals)).toBeLessThanOrEqual(4 * arrivalsSd)

    // Little's law: L = λW = 40. For exponential stays (M/M/∞) the number in the system has
    // autocorrelation e^(−t/W), so its time average over T has variance 2λW²/T (sd ≈ 2.8).
    const little = RATE_PER_SEC * SESSION_SEC
    const meanSd = Math.sqrt((2 * RATE_PER_SEC * SESSION_SEC ** 2) / sse.measuredSec)
    expect(Math.abs(arrivals.activeMean - little)).toBeLessThanOrEqual(4 * meanSd)
    // The server's side of it: the open connections the pools counted at each 1-s roll. Samples
    // 1 s apart are correlated by e^(−1), which about doubles the variance of their mean.
    const samples = sse.timeSeries.map((point) => point.connections)
    const connectedMean = samples.reduce((sum, value) => sum + value, 0) / samples.length
    const connectedSd = Math.sqrt((little / samples.length) * (1 + 2 / (Math.E - 1)))
    expect(Math.abs(connectedMean - little)).toBeLessThanOrEqual(4 * connectedSd)

    // Every arrival and departure accounted for: the executor's books balance exactly …
    expect(arrivals.activeAtEnd).toBe(
      arrivals.activeAtStart + arrivals.arrivals - arrivals.dropped - arrivals.departures,
    )
    expect(arrivals.departures).toBeGreaterThan(0)
    // … and agree with what the pools saw: each admitted arrival connected once (no reconnects),
    // and the connections still open at the end are the sessions still running, so each
    // subscriber that left was closed. They may differ only by the arrivals that were still
    // connecting at either edge of the window: Poisson with mean λw, w the slowest connect plus
    // the 10 ms tick and the worker's message hop (50 ms); bounded at 4 sd again.
    const edgeMean = RATE_PER_SEC * (sse.connectTimeUs.max / 1e6 + 0.05)
    const edge = (sides: number) => sides * edgeMean + 4 * Math.sqrt(sides * edgeMean) + 1
    expect(Math.abs(sse.connects - arrivals.arrivals)).toBeLessThanOrEqual(edge(2))
    expect(Math.abs(sse.subscribers.connectedAtEnd - arrivals.activeAtEnd)).toBeLessThanOrEqual(
      edge(1),
    )
    expect(sse.reconnects).toBe(0)
    expect(sse.errors).toBe(0)
    expect(sse.gaps).toBe(0)
    expect(sse.duplicates).toBe(0)
    expect(sse.deliveries).toBeGreaterThan(0)
    expect(result.passed).toBe(true)
    // The table says what the executor did.
    expect(stdout).toMatch(
      /arrivals: \d+ at 40\/s \(0 dropped at the bound of 400\), \d+ left after exponential stays of 1 s mean; in a session: [\d.]+ on average \(rate × stay: 40\.0\)/,
    )
  }, 60_000)

  test('past maxSubscribers an arrival is dropped and counted, and the crowd stays bounded', async () => {
    const { result } = await run(
      'churn-bounded',
      `name: churn-bounded
description: more arrivals than the bound lets in
server: { preset: normal, seed: 5 }
transports: [ws]
executor: arrival-rate
arrivalRate: { ratePerSec: 40, sessionSec: { mean: 2, distribution: fixed }, maxSubscribers: 10 }
subscribers: { watchList: { size: 8 } }
warmupSec: 2
durationSec: 3
workers: 1
`,
    )
    const ws = result.transports[0]!
    const arrivals = ws.arrivals!
    // 40/s against room for 10 stays of 2 s (5/s): most arrivals find the crowd full.
    expect(arrivals.dropped).toBeGreaterThan(arrivals.arrivals / 2)
    expect(arrivals.activeMax).toBe(10)
    expect(ws.subscribers.connectedMax).toBeLessThanOrEqual(10)
    expect(arrivals.activeAtEnd).toBe(
      arrivals.activeAtStart + arrivals.arrivals - arrivals.dropped - arrivals.departures,
    )
    expect(ws.errors).toBe(0)
    expect(ws.gaps).toBe(0)
    expect(ws.duplicates).toBe(0)
  }, 60_000)

  test('watch-lists change during the stays on every transport, timed to their acknowledgement, and nothing is lost', async () => {
    const EVERY_SEC = 1
    const { result, stdout } = await run(
      'churn-changes',
      `name: churn-changes
description: Poisson arrivals whose watch-lists change while they stay
server: { preset: normal, seed: 5 }
transports: [sse, eventsource, longpoll, ws]
executor: arrival-rate
arrivalRate:
  ratePerSec: 15
  sessionSec: { mean: 3, distribution: exponential }
  maxSubscribers: 200
  seed: 7
  watchListChanges: { everySec: ${EVERY_SEC}, swap: 2 }
subscribers: { watchList: { size: 6, pick: zipf } }
warmupSec: 2
durationSec: 5
workers: 2
`,
    )
    expect(result.transports.map((t) => t.transport)).toEqual([
      'sse',
      'eventsource',
      'longpoll',
      'ws',
    ])
    for (const t of result.transports) {
      const arrivals = t.arrivals!
      expect(arrivals.watchListChanges, t.transport).toEqual({ everySec: EVERY_SEC, swap: 2 })
      const changes = t.watchListChanges!
      // Each subscriber changes as a Poisson process while it stays, so the window's changes are
      // Poisson with mean (subscriber-seconds in a session) / everySec; 4 sd, plus the arrivals
      // still connecting at the edges of the window.
      const expected = (arrivals.activeMean * t.measuredSec) / EVERY_SEC
      expect(Math.abs(changes.changes - expected), t.transport).toBeLessThanOrEqual(
        4 * Math.sqrt(expected) + 10,
      )
      // Every change answered but those made as the window or the stay ended.
      const acknowledged = changes.acknowledgedUs
      expect(acknowledged.count, t.transport).toBeLessThanOrEqual(changes.changes)
      expect(acknowledged.count, t.transport).toBeGreaterThanOrEqual(0.9 * changes.changes)
      expect(acknowledged.p50, t.transport).toBeGreaterThan(0)
      // The histogram a merge adds is the one the percentiles were read from.
      const encoded = t.extraHistograms?.changeAcknowledgedUs
      expect(encoded, t.transport).toBeDefined()
      expect(decodeHistogram(encoded!).totalCount, t.transport).toBe(acknowledged.count)
      // A change is not a drop, and the symbols kept lose nothing, none is repeated, the ones
      // dropped are not missed and the ones taken are not counted from before they were taken.
      expect(t.reconnects, t.transport).toBe(0)
      expect(t.lossCountedAgainst, t.transport).toBe('sent')
      expect(
        { lost: t.lost, gaps: t.gaps, duplicates: t.duplicates, outOfOrder: t.outOfOrder },
        t.transport,
      ).toEqual({ lost: 0, gaps: 0, duplicates: 0, outOfOrder: 0 })
      expect(t.errorsByKind, t.transport).toEqual({})
      expect(t.deliveries, t.transport).toBeGreaterThan(0)
    }
    expect(stdout).toMatch(
      /watch-list changes: [\d,]+ \(every 1 s mean per subscriber, 2 symbols each\), change → acknowledged p50 /,
    )
  }, 180_000)
})
