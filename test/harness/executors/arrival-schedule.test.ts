import { describe, expect, test } from 'vitest'
import { createArrivalSchedule } from '../../../src/harness/executors/arrival-schedule.js'

const SPEC = {
  ratePerSec: 50,
  sessionSec: { mean: 4, distribution: 'exponential' as const },
  seed: 7,
  stream: 'arrival-rate',
}

function draw(spec: Parameters<typeof createArrivalSchedule>[0], n: number) {
  const schedule = createArrivalSchedule(spec)
  return Array.from({ length: n }, () => schedule.next())
}

describe('createArrivalSchedule', () => {
  test('the same seed draws the same arrivals and stays; another seed or stream does not', () => {
    expect(draw(SPEC, 100)).toEqual(draw(SPEC, 100))
    expect(draw({ ...SPEC, seed: 8 }, 100)).not.toEqual(draw(SPEC, 100))
    expect(draw({ ...SPEC, stream: 'arrival-rate/2' }, 100)).not.toEqual(draw(SPEC, 100))
  })

  test('a Poisson process at the rate, with exponential stays of the mean', () => {
    const n = 100_000
    const arrivals = draw(SPEC, n)
    // Gaps are exponential with mean 1/rate: their mean over n has sd (1/rate)/√n.
    const meanGapSec = arrivals.at(-1)!.atSec / n
    expect(Math.abs(meanGapSec - 1 / 50)).toBeLessThanOrEqual((4 * (1 / 50)) / Math.sqrt(n))
    const meanStaySec = arrivals.reduce((sum, a) => sum + a.sessionSec, 0) / n
    expect(Math.abs(meanStaySec - 4)).toBeLessThanOrEqual((4 * 4) / Math.sqrt(n))
    expect(arrivals.every((a, i) => i === 0 || a.atSec > arrivals[i - 1]!.atSec)).toBe(true)
  })

  test('fixed stays are all the mean', () => {
    const fixed = draw({ ...SPEC, sessionSec: { mean: 2.5, distribution: 'fixed' } }, 50)
    expect(new Set(fixed.map((a) => a.sessionSec))).toEqual(new Set([2.5]))
  })
})
