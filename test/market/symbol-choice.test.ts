import { describe, expect, test } from 'vitest'
import { createRng } from '../../src/market/rng.js'
import { createSymbolChoice, zipfOffset, zipfShares } from '../../src/market/symbol-choice.js'

function topShare(shares: ArrayLike<number>, k: number): number {
  let sum = 0
  for (let i = 0; i < k; i++) sum += shares[i]!
  return sum
}

describe('Zipf–Mandelbrot shares', () => {
  test('are 1/(k + q) normalised, q = 5 up to 1,000 names and 10 at 8,000', () => {
    expect(zipfOffset(500)).toBe(5)
    expect(zipfOffset(1000)).toBe(5)
    expect(zipfOffset(8000)).toBeCloseTo(10, 10)
    const shares = zipfShares(500)
    let harmonic = 0
    for (let k = 1; k <= 500; k++) harmonic += 1 / (k + 5)
    expect(shares[0]).toBeCloseTo(1 / 6 / harmonic, 12)
    expect(shares[499]).toBeCloseTo(1 / 505 / harmonic, 12)
    expect(topShare(shares, 500)).toBeCloseTo(1, 12)
  })
})

describe('symbol choice with stickiness', () => {
  test.each([
    [500, 0.3],
    [8000, 0.3],
    [500, 0],
  ])('keeps the top-1/10/100 shares within 2 pp of Zipf (N = %d, ρ = %d)', (n, stickiness) => {
    const shares = zipfShares(n)
    const choice = createSymbolChoice({ weights: shares, stickiness, memory: 8, rng: createRng(n) })
    const counts = new Float64Array(n)
    const draws = 1_000_000
    for (let i = 0; i < draws; i++) {
      const s = choice.pick()
      counts[s] = counts[s]! + 1
    }
    for (const k of [1, 10, 100]) {
      expect(Math.abs(topShare(counts, k) / draws - topShare(shares, k))).toBeLessThan(0.02)
    }
  })

  test('stickiness re-picks one of the last K symbols with probability ρ', () => {
    // With a uniform universe of 100,000 names a chance repeat within 8 picks is rare (8e-5), so
    // the repeat rate measures ρ.
    const n = 100_000
    const choice = createSymbolChoice({
      weights: new Float64Array(n).fill(1),
      stickiness: 0.3,
      memory: 8,
      rng: createRng(5),
    })
    const recent: number[] = []
    let repeats = 0
    const draws = 200_000
    for (let i = 0; i < draws; i++) {
      const s = choice.pick()
      if (recent.includes(s)) repeats++
      recent.push(s)
      if (recent.length > 8) recent.shift()
    }
    expect(repeats / draws).toBeCloseTo(0.3, 2)
  })

  test('remembered symbols (bursts) become candidates for re-picking', () => {
    const choice = createSymbolChoice({
      weights: new Float64Array(100_000).fill(1),
      stickiness: 1,
      memory: 4,
      rng: createRng(9),
    })
    choice.remember(77)
    expect([choice.pick(), choice.pick(), choice.pick()]).toEqual([77, 77, 77])
  })
})
