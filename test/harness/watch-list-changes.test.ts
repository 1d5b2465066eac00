import { describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import { createEventObserver } from '../../src/harness/event-observer.js'
import {
  createWatchListChanger,
  type WatchListChangeSpec,
} from '../../src/harness/executors/arrival-schedule.js'
import { parseScenario } from '../../src/harness/scenario.js'
import { createTransportMetrics } from '../../src/harness/transport-metrics.js'
import { pickWatchLists } from '../../src/harness/watch-lists.js'
import { decodeHistogram } from '../../src/report/measurements.js'

// Watch-list changes of the open model: the scenario's keys and their checks, the seeded change
// schedule and its symbol swaps, and what a change does to the measurement of one subscriber.

const UNIVERSE = Array.from({ length: 200 }, (_, i) => `S${String(i).padStart(3, '0')}`)
const SPEC: WatchListChangeSpec = {
  everySec: 2,
  swap: 3,
  pick: 'zipf',
  seed: 11,
  stream: 'arrival-rate',
}

function listOf(index: number, pick: 'zipf' | 'uniform' = 'zipf'): readonly string[] {
  const lists = pickWatchLists(UNIVERSE, index + 1, { size: 10, pick, seed: 1 })
  return lists[index]!
}

function draws(spec: WatchListChangeSpec, index: number, count: number) {
  const changes = createWatchListChanger(spec, UNIVERSE)!(index, listOf(index, spec.pick))!
  return Array.from({ length: count }, () => changes.next())
}

describe('the change schedule', () => {
  test('the same seed and subscriber give the same changes; another subscriber or seed, others', () => {
    const once = draws(SPEC, 4, 20)
    expect(draws(SPEC, 4, 20)).toEqual(once)
    expect(draws(SPEC, 5, 20)).not.toEqual(once)
    expect(draws({ ...SPEC, seed: 12 }, 4, 20)).not.toEqual(once)
    // Another segment's stream draws apart too.
    expect(draws({ ...SPEC, stream: 'arrival-rate/1' }, 4, 20)).not.toEqual(once)
  })

  test('each change replaces exactly `swap` symbols by ones not held, keeps the size and the universe order', () => {
    let held = listOf(7)
    const changes = createWatchListChanger(SPEC, UNIVERSE)!(7, held)!
    for (let i = 0; i < 500; i++) {
      const { symbols } = changes.next()
      const before = new Set(held)
      const added = symbols.filter((symbol) => !before.has(symbol))
      const kept = symbols.filter((symbol) => before.has(symbol))
      expect(added).toHaveLength(SPEC.swap)
      expect(kept).toHaveLength(held.length - SPEC.swap)
      expect(new Set(symbols).size).toBe(held.length)
      expect(symbols.every((symbol) => UNIVERSE.includes(symbol))).toBe(true)
      const order = symbols.map((symbol) => UNIVERSE.indexOf(symbol))
      expect(order).toEqual([...order].sort((a, b) => a - b))
      held = symbols
    }
  })

  test('gaps are exponential with mean everySec (within 4 standard errors)', () => {
    const n = 4000
    const gaps = draws({ ...SPEC, everySec: 5 }, 1, n).map((change) => change.afterSec)
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / n
    // An exponential's sd equals its mean: the sample mean's standard error is 5/√n.
    expect(Math.abs(mean - 5)).toBeLessThanOrEqual((4 * 5) / Math.sqrt(n))
    // Memoryless: about e^-1 of the gaps exceed the mean (binomial sd √(n p (1 − p))).
    const over = gaps.filter((gap) => gap > 5).length
    const p = Math.exp(-1)
    expect(Math.abs(over - n * p)).toBeLessThanOrEqual(4 * Math.sqrt(n * p * (1 - p)))
  })

  test('symbols come in as watch-lists are drawn: zipf favours the busiest, uniform does not', () => {
    const busiest = new Set(UNIVERSE.slice(0, 20))
    const shareOfBusiest = (pick: 'zipf' | 'uniform') => {
      let busy = 0
      let all = 0
      for (let index = 0; index < 20; index++) {
        let held = listOf(index, pick)
        const changes = createWatchListChanger({ ...SPEC, pick }, UNIVERSE)!(index, held)!
        for (let i = 0; i < 50; i++) {
          const { symbols } = changes.next()
          for (const symbol of symbols) {
            if (held.includes(symbol)) continue
            all++
            if (busiest.has(symbol)) busy++
          }
          held = symbols
        }
      }
      return busy / all
    }
    // 20 of 200 names: a uniform pick lands there 10 % of the time (less: some are held).
    expect(shareOfBusiest('uniform')).toBeLessThan(0.15)
    expect(shareOfBusiest('zipf')).toBeGreaterThan(0.3)
  })

  test('no list to change: every symbol, or nothing left to swap in', () => {
    const changer = createWatchListChanger(SPEC, UNIVERSE)!
    expect(changer(0, null)).toBeNull()
    expect(changer(0, UNIVERSE)).toBeNull()
    // One name outside the list: a change of 3 can swap only the one there is.
    const allButOne = UNIVERSE.slice(1)
    const change = changer(0, allButOne)!.next()
    expect(change.symbols).toHaveLength(allButOne.length)
    expect(change.symbols).toContain(UNIVERSE[0])
  })
})

describe('a change, as the measurement sees it', () => {
  const metricsAt = (nowMs: number) =>
    createTransportMetrics('sse', { nowMs, intervalMs: 1000, useWasm: false })

  test('a dropped symbol is no longer expected, a taken one counts from what it first sees', () => {
    const metrics = metricsAt(Date.now())
    const observer = createEventObserver(metrics, ['AAPL', 'MSFT'])
    observer.tick(observer.symbol('AAPL'), 10, 1, 2)
    observer.tick(observer.symbol('MSFT'), 20, 1, 2)
    const baseline = new Map([
      ['AAPL', 9],
      ['MSFT', 19],
      ['NVDA', 30],
    ])
    observer.changeSymbols(['MSFT', 'NVDA'], 100)
    // AAPL went on trading after it was dropped; NVDA, taken, has sent nothing to this subscriber
    // yet: neither is missing, though the window's baseline knows NVDA.
    const heads = new Map([
      ['AAPL', 50],
      ['MSFT', 20],
      ['NVDA', 40],
    ])
    expect(observer.missing(heads, baseline)).toBe(0)
    // An AAPL event still in flight after the change is received, not an error or a gap.
    observer.tick(observer.symbol('AAPL'), 11, 1, 2)
    // NVDA starts where it is first seen: no gap from 30 (or 0) to 40.
    observer.tick(observer.symbol('NVDA'), 40, 1, 2)
    observer.tick(observer.symbol('NVDA'), 41, 1, 2)
    expect(metrics.counters.gaps).toBe(0)
    expect(metrics.counters.duplicates).toBe(0)
    // From then on NVDA counts as any held symbol: what it lacks of the head is missing.
    expect(observer.missing(new Map([['NVDA', 45]]), baseline)).toBe(4)
    expect(observer.missing(new Map([['MSFT', 23]]), baseline)).toBe(3)
    metrics.destroy()
  })

  test('a symbol dropped and taken again starts afresh: no gap over the time it was not held', () => {
    const metrics = metricsAt(Date.now())
    const observer = createEventObserver(metrics, ['AAPL', 'MSFT'])
    for (let q = 1; q <= 3; q++) observer.tick(observer.symbol('AAPL'), q, 1, 2)
    observer.changeSymbols(['MSFT'], 100)
    observer.changeSymbols(['AAPL', 'MSFT'], 200)
    observer.tick(observer.symbol('AAPL'), 90, 1, 2)
    expect(metrics.counters.gaps).toBe(0)
    // Without the change the same jump is a gap of 86: the check can fail.
    const plain = createEventObserver(metrics, ['AAPL'])
    plain.tick(plain.symbol('AAPL'), 3, 1, 2)
    plain.tick(plain.symbol('AAPL'), 90, 1, 2)
    expect(metrics.counters.gaps).toBe(86)
    metrics.destroy()
  })

  test('change → acknowledged: one sample per answered change, none without a change', () => {
    const startMs = Date.now()
    const metrics = metricsAt(startMs)
    const observer = createEventObserver(metrics, ['AAPL', 'MSFT'])
    const t0 = startMs * 1000 + 1_000
    observer.acknowledged(t0) // the first subscription's answer: no change pending
    observer.changeSymbols(['AAPL', 'NVDA'], t0)
    // A reconnect made for the change is no drop: no recovery episode, no replay counted.
    observer.connected(t0 + 3_000)
    observer.acknowledged(t0 + 3_000)
    observer.acknowledged(t0 + 9_000) // a later answer: nothing pending any more
    observer.tick(observer.symbol('AAPL'), 5, t0 - 10, t0 + 3_500)
    const report = metrics.toWorkerReport()
    expect(report.watchListChanges?.changes).toBe(1)
    const histogram = decodeHistogram(report.watchListChanges!.acknowledged)
    expect(histogram.totalCount).toBe(1)
    expect(histogram.maxValue).toBeGreaterThanOrEqual(2_990)
    expect(histogram.maxValue).toBeLessThanOrEqual(3_010)
    expect(report.counters.reconnects).toBe(0)
    expect(report.counters.eventsRecoveredByReplay).toBe(0)
    metrics.destroy()
  })

  test('a change asked before the window began is not timed in it', () => {
    const startMs = Date.now()
    const metrics = metricsAt(startMs)
    const observer = createEventObserver(metrics, ['AAPL', 'MSFT'])
    observer.changeSymbols(['AAPL', 'NVDA'], startMs * 1000 + 10)
    metrics.reset(startMs + 1_000)
    observer.acknowledged(startMs * 1000 + 1_500_000)
    const report = metrics.toWorkerReport()
    expect(report.watchListChanges?.changes).toBe(0)
    expect(decodeHistogram(report.watchListChanges!.acknowledged).totalCount).toBe(0)
    metrics.destroy()
  })
})

describe('the scenario keys', () => {
  const scenario = (changes: string, watchList = '{ size: 5 }', server = '') => `
name: churn
description: an open model with changes
transports: [sse]
executor: arrival-rate
arrivalRate: { ratePerSec: 50, sessionSec: { mean: 4 }, maxSubscribers: 500${changes} }
subscribers: { watchList: ${watchList} }
${server}durationSec: 30
`
  const problemsOf = (text: string): string[] => {
    try {
      parseScenario(text, 'test.yaml')
    } catch (error) {
      expect(error).toBeInstanceOf(TickstormError)
      return (error as TickstormError).details?.['problems'] as string[]
    }
    throw new Error('expected the scenario to be rejected')
  }

  test('absent: no changes; given: everySec, and swap 1 by default', () => {
    expect(parseScenario(scenario(''), 'a.yaml').arrivalRate?.watchListChanges).toBeUndefined()
    expect(
      parseScenario(scenario(', watchListChanges: { everySec: 20 }'), 'a.yaml').arrivalRate
        ?.watchListChanges,
    ).toEqual({ everySec: 20, swap: 1 })
  })

  test('a change that cannot be made is refused, naming the path and what to write instead', () => {
    expect(problemsOf(scenario(', watchListChanges: { everySec: 20, swap: 6 }'))).toEqual([
      '`arrivalRate.watchListChanges.swap` must be ≤ subscribers.watchList.size (5): a change replaces symbols the subscriber holds, got 6',
    ])
    expect(
      problemsOf(
        scenario(', watchListChanges: { everySec: 20 }', '{ pick: fixed, symbols: [AAPL, MSFT] }'),
      ),
    ).toEqual([
      '`arrivalRate.watchListChanges` cannot change a fixed watch-list (every subscriber holds the same symbols); use subscribers.watchList.pick: zipf or uniform, got {"everySec":20}',
    ])
    const small = 'server: { preset: normal, symbols: 8 }\n'
    expect(
      problemsOf(scenario(', watchListChanges: { everySec: 20 }', '{ size: 8 }', small)),
    ).toEqual([
      '`arrivalRate.watchListChanges` has nothing to swap in: a watch-list of 8 holds every one of the server\'s 8 symbols; make subscribers.watchList.size smaller, got {"everySec":20}',
    ])
    expect(
      problemsOf(scenario(', watchListChanges: { everySec: 20, swap: 4 }', '{ size: 5 }', small)),
    ).toEqual([
      "`arrivalRate.watchListChanges.swap` must be ≤ 3: the server's 8 symbols leave that many outside a watch-list of 5, got 4",
    ])
    expect(problemsOf(scenario(', watchListChanges: { everySec: 0, swap: 0 }'))).toEqual([
      '`arrivalRate.watchListChanges.everySec` must be ≥ 0.1, got 0',
      '`arrivalRate.watchListChanges.swap` must be ≥ 1, got 0',
    ])
  })
})
