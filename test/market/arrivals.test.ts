import { describe, expect, test } from 'vitest'
import {
  createArrivals,
  createBurstComponent,
  createMarketComponent,
  type HawkesComponent,
} from '../../src/market/arrivals.js'
import { activityAt, SESSION_LENGTH_US } from '../../src/market/intraday.js'
import { createStream } from '../../src/market/rng.js'
import { EMPTY_SCENARIO, type Scenario } from '../../src/market/scenario.js'
import { SESSION_OPEN_US } from '../../src/market/types.js'

const MINUTE_US = 60_000_000

/** Event times in [fromUs, toUs) of a process started at fromUs. */
function eventTimes(
  components: HawkesComponent[],
  fromUs: number,
  toUs: number,
  seed = 1,
): { times: Float64Array; sources: Uint8Array } {
  const arrivals = createArrivals({
    rng: createStream(seed, 'test-arrivals'),
    startSimTimeUs: fromUs,
    kernelDecayPerSec: 20,
    components,
  })
  const times: number[] = []
  const sources: number[] = []
  while (arrivals.timeUs < toUs) {
    times.push(arrivals.timeUs)
    sources.push(arrivals.component)
    arrivals.next()
  }
  return { times: Float64Array.from(times), sources: Uint8Array.from(sources) }
}

/** ∫ m(t) dt in seconds over [fromUs, toUs), midpoint rule on 1-second steps. */
function integratedActivitySec(fromUs: number, toUs: number): number {
  let sum = 0
  for (let t = fromUs; t < toUs; t += 1_000_000) sum += activityAt(t + 500_000)
  return sum
}

function countIn(times: Float64Array, fromUs: number, toUs: number): number {
  let n = 0
  for (const t of times) if (t >= fromUs && t < toUs) n++
  return n
}

describe('market-wide Hawkes arrivals', () => {
  const rate = 100
  const open = SESSION_OPEN_US
  const close = open + SESSION_LENGTH_US
  const session = eventTimes([createMarketComponent(rate, 0.7, EMPTY_SCENARIO)], open, close)

  test('times never decrease', () => {
    let backwards = 0
    for (let i = 1; i < session.times.length; i++) {
      if (session.times[i]! < session.times[i - 1]!) backwards++
    }
    expect(backwards).toBe(0)
  })

  test('event counts are within ±10% of λ̄·∫m(t) over a session and over each hour', () => {
    const expected = rate * integratedActivitySec(open, close)
    expect(session.times.length / expected).toBeGreaterThan(0.9)
    expect(session.times.length / expected).toBeLessThan(1.1)
    for (let hour = 0; hour < 6; hour++) {
      const from = open + hour * 60 * MINUTE_US
      const to = from + 60 * MINUTE_US
      const ratio = countIn(session.times, from, to) / (rate * integratedActivitySec(from, to))
      expect(ratio).toBeGreaterThan(0.9)
      expect(ratio).toBeLessThan(1.1)
    }
  })

  test('the first and last 15 minutes run 2.5–5× the midday rate', () => {
    const middayFrom = open + 187.5 * MINUTE_US
    const midday = countIn(session.times, middayFrom, middayFrom + 15 * MINUTE_US)
    const first = countIn(session.times, open, open + 15 * MINUTE_US) / midday
    const last = countIn(session.times, close - 15 * MINUTE_US, close) / midday
    for (const ratio of [first, last]) {
      expect(ratio).toBeGreaterThan(2.5)
      expect(ratio).toBeLessThan(5)
    }
  })

  test('counts per 100 ms are bursty: variance/mean > 3 (Poisson: 1)', () => {
    // Theory for n = 0.7, β = 20/s and 100 ms windows: about 3.5.
    const from = open + 120 * MINUTE_US
    const { times } = eventTimes(
      [createMarketComponent(2000, 0.7, EMPTY_SCENARIO)],
      from,
      from + 10 * MINUTE_US,
    )
    const counts = new Float64Array(6000)
    for (const t of times) {
      const w = Math.floor((t - from) / 100_000)
      counts[w] = counts[w]! + 1
    }
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length
    const variance = counts.reduce((a, b) => a + (b - mean) ** 2, 0) / counts.length
    expect(variance / mean).toBeGreaterThan(3)
    expect(variance / mean).toBeLessThan(4.5)
  })

  test('without self-excitation the counts are Poisson (variance/mean ≈ 1)', () => {
    const from = open + 120 * MINUTE_US
    const { times } = eventTimes(
      [createMarketComponent(2000, 0, EMPTY_SCENARIO)],
      from,
      from + 5 * MINUTE_US,
    )
    const counts = new Float64Array(3000)
    for (const t of times) {
      const w = Math.floor((t - from) / 100_000)
      counts[w] = counts[w]! + 1
    }
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length
    const variance = counts.reduce((a, b) => a + (b - mean) ** 2, 0) / counts.length
    expect(variance / mean).toBeGreaterThan(0.9)
    expect(variance / mean).toBeLessThan(1.1)
  })

  test('a scenario rate envelope multiplies the rate; a branching step keeps the mean', () => {
    const from = open + 120 * MINUTE_US
    const crash: Scenario = {
      ...EMPTY_SCENARIO,
      rate: [
        {
          symbol: -1,
          fromUs: from + MINUTE_US,
          toUs: from + 5 * MINUTE_US,
          peak: 8,
          decayUs: Infinity,
        },
      ],
      branching: [{ fromUs: from + MINUTE_US, toUs: from + 5 * MINUTE_US, value: 0.95 }],
    }
    const { times } = eventTimes(
      [createMarketComponent(500, 0.7, crash)],
      from,
      from + 9 * MINUTE_US,
    )
    const before =
      countIn(times, from, from + MINUTE_US) / integratedActivitySec(from, from + MINUTE_US)
    const during =
      countIn(times, from + MINUTE_US, from + 5 * MINUTE_US) /
      integratedActivitySec(from + MINUTE_US, from + 5 * MINUTE_US)
    expect(before / 500).toBeGreaterThan(0.85)
    expect(before / 500).toBeLessThan(1.15)
    expect(during / 500 / 8).toBeGreaterThan(0.85)
    expect(during / 500 / 8).toBeLessThan(1.15)
  })

  test('a burst adds about its extra rate × τ events, all tagged with its component', () => {
    const from = open + 120 * MINUTE_US
    const burst = {
      symbol: 3,
      fromUs: from + MINUTE_US,
      extraRatePerSec: 100,
      decayUs: MINUTE_US,
      branchingRatio: 0.9,
    }
    const { sources, times } = eventTimes(
      [createMarketComponent(100, 0.7, EMPTY_SCENARIO), createBurstComponent(burst)],
      from,
      from + 15 * MINUTE_US,
      7,
    )
    let fromBurst = 0
    let beforeStart = 0
    sources.forEach((c, i) => {
      if (c === 1) {
        fromBurst++
        if (times[i]! < burst.fromUs) beforeStart++
      }
    })
    expect(beforeStart).toBe(0)
    // Expected 100/s × 60 s = 6,000; with n = 0.9 one run varies by about ±15% (1 sd).
    expect(fromBurst).toBeGreaterThan(4000)
    expect(fromBurst).toBeLessThan(8000)
  })

  test('the same stream gives the same times', () => {
    const again = eventTimes(
      [createMarketComponent(rate, 0.7, EMPTY_SCENARIO)],
      open,
      open + 10 * MINUTE_US,
    )
    expect(Array.from(again.times)).toEqual(
      Array.from(session.times.subarray(0, again.times.length)),
    )
  })
})
