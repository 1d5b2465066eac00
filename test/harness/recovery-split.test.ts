import { afterEach, describe, expect, test } from 'vitest'
import type { FrameSource } from '../../src/feed/log-source.js'
import { createHeadsBoardWriter } from '../../src/harness/heads-board.js'
import { createLoadPool, type LoadPool } from '../../src/harness/load-pool.js'
import { runScenario } from '../../src/harness/runner.js'
import { parseScenario } from '../../src/harness/scenario.js'
import { createTickstormAdapter } from '../../src/harness/targets/tickstorm.js'
import { mergeWorkerReports } from '../../src/harness/transport-metrics.js'
import { pickWatchLists } from '../../src/harness/watch-lists.js'
import type { Percentiles, TransportResult } from '../../src/report/result-schema.js'
import { percentilesOf } from '../../src/report/transport-result.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

const closing: (() => void)[] = []
afterEach(() => {
  for (const close of closing.splice(0)) close()
})

/**
 * Recovery split in three, measured by the whole harness (target, heads board, pools, merge)
 * against a real tickstorm server: half the subscribers cut 1 s into the measurement.
 */
function dropScenario(url: string, transport: string) {
  return parseScenario(
    [
      'name: recovery-split',
      'description: half the subscribers cut once; recovery in three',
      'target:',
      `  url: ${url}`,
      `transports: [${transport}]`,
      'subscribers:',
      '  count: 20',
      '  watchList: { size: 3, pick: zipf, seed: 7 }',
      'warmupSec: 1',
      'durationSec: 3',
      'faults:',
      '  - { atSec: 1, kind: drop, fraction: 0.5 }',
    ].join('\n'),
    'recovery-split.yaml',
  )
}

/** Every percentile of `low` is at most `high`'s (same sample count, pairwise ≤ per episode). */
function expectBelow(low: Percentiles, high: Percentiles): void {
  expect(low.count).toBe(high.count)
  for (const key of ['p50', 'p90', 'p99', 'max'] as const) {
    expect(low[key], key).toBeLessThanOrEqual(high[key])
  }
}

describe.each(['sse', 'ws'])('recovery split over %s', (transport) => {
  test('a drop gives one reconnected, caught-up and first-new time per reconnect, in order', async () => {
    // A slow retry: the reconnect takes a visible time, so its figure is not zero.
    const server = await startServer({ ratePerSec: 400, retryMs: 200 })
    const { result } = await runScenario(dropScenario(server.url, transport), {
      serverBin: 'unused',
      scenarioFile: 'recovery-split.yaml',
      commit: 'test',
      workers: 0,
      retryMs: 200,
    })
    const measured: TransportResult = result.transports[0]!
    expect(measured.faults?.map((fault) => fault.kind)).toEqual(['drop'])
    expect(measured.reconnects).toBe(10)
    const split = measured.recoverySplit
    expect(split).toBeDefined()
    if (split === undefined) return
    expect(split.reconnectedUs.count).toBe(measured.reconnects)
    expect(split.caughtUpUs.count).toBe(measured.reconnects)
    expect(split.firstNewUs.count).toBe(measured.reconnects)
    // The jittered retry (200 ms ± 50 %) is in every reconnect.
    expect(split.reconnectedUs.p50).toBeGreaterThanOrEqual(90_000)
    expectBelow(split.reconnectedUs, split.caughtUpUs)
    expectBelow(split.reconnectedUs, split.firstNewUs)
    // The figure kept from before (the first event of any kind) is no earlier than the reconnect.
    expectBelow(split.reconnectedUs, measured.recoveryUs)
    expect(measured.extraHistograms?.reconnectedUs).toBeTruthy()
    expect(measured.extraHistograms?.caughtUpUs).toBeTruthy()
    expect(measured.extraHistograms?.firstNewUs).toBeTruthy()
    // A resume by id replays: no conflation, so no staleness.
    expect(measured.stalenessUs?.count).toBe(0)
  })
})

describe('recovery split with exact heads', () => {
  test.each(['sse', 'ws'] as const)(
    'over %s, heads written as the server sends: caught up ≤ first new, on a stream in order',
    async (transport) => {
      const server = await startServer({ ratePerSec: 300, retryMs: 100 })
      const feed = server.feed as FrameSource
      const universe = [...feed.symbols]
      // The board as the harness's publisher keeps it: each tick's q as it is sent. The listener
      // runs in the frame's turn, so the subscribers (this thread) never see it behind.
      const board = createHeadsBoardWriter(server.url, universe, true)
      closing.push(
        feed.onTickFrame((frame) => {
          for (const tick of frame.ticks) board.set(universe[tick.symbol]!, tick.seq)
        }),
      )
      board.open()
      closing.push(() => board.close())
      const pool: LoadPool = createLoadPool({
        transport,
        workerId: 0,
        baseUrl: server.url,
        retryMs: 100,
        localAddresses: [],
        wire: createTickstormAdapter({ headers: {}, query: {}, auth: null }).wire,
        universe,
      })
      closing.push(() => pool.close())
      // Quiet watch-lists (the Zipf tail): the first new event waits for its symbols to trade.
      const lists = pickWatchLists(universe.slice(20), 10, { size: 2, pick: 'zipf', seed: 5 })
      pool.add(
        lists.map((symbols, index) => ({ index, symbols })),
        1000,
      )
      await waitFor('10 connected and flowing', () => {
        const progress = pool.progress()
        return progress.connections === 10 && progress.deliveries > 50
      })
      pool.reset()
      expect(pool.drop(1)).toBe(10)
      const split = () => {
        const merged = mergeWorkerReports([pool.report()])
        return {
          reconnects: merged.counters.reconnects,
          reconnected: percentilesOf(merged.split!.reconnected),
          caughtUp: percentilesOf(merged.split!.caughtUp),
          firstNew: percentilesOf(merged.split!.firstNew),
        }
      }
      await waitFor('every subscriber back with a new event', () => split().firstNew.count === 10, {
        timeoutMs: 20_000,
        state: split,
      })
      const figures = split()
      expect(figures.reconnects).toBe(10)
      expectBelow(figures.reconnected, figures.caughtUp)
      expectBelow(figures.caughtUp, figures.firstNew)
      // Quiet symbols: some waited for their next tick well past the replay.
      expect(figures.firstNew.max).toBeGreaterThan(figures.caughtUp.max)
    },
  )
})
