import { describe, expect, test } from 'vitest'
import { createRng, createStream, hashSeed, type Rng } from '../../src/market/rng.js'

function moments(draw: () => number, n: number): { mean: number; variance: number } {
  let sum = 0
  let sumSq = 0
  for (let i = 0; i < n; i++) {
    const x = draw()
    sum += x
    sumSq += x * x
  }
  const mean = sum / n
  return { mean, variance: sumSq / n - mean * mean }
}

function firstDraws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.nextU32())
}

describe('streams', () => {
  test('the same (seed, name) gives the same draws', () => {
    expect(firstDraws(createStream(42, 'price:AAPL'), 5)).toEqual(
      firstDraws(createStream(42, 'price:AAPL'), 5),
    )
  })

  test('is sfc32 seeded by splitmix32, 12 rounds discarded', () => {
    // Values from an independent Python implementation of both algorithms.
    expect(firstDraws(createRng(0), 4)).toEqual([4205396811, 3543653536, 1222415357, 3047368389])
  })

  test('another seed or another name gives unrelated draws', () => {
    const base = firstDraws(createStream(42, 'price:AAPL'), 8)
    const otherSeed = firstDraws(createStream(43, 'price:AAPL'), 8)
    const otherName = firstDraws(createStream(42, 'price:AAPB'), 8)
    for (let i = 0; i < 8; i++) {
      expect(otherSeed[i]).not.toBe(base[i])
      expect(otherName[i]).not.toBe(base[i])
    }
  })

  test('hashSeed spreads neighbouring seeds and names over 32 bits', () => {
    const hashes = new Set<number>()
    for (let seed = 0; seed < 100; seed++) {
      for (const name of ['a', 'b', 'ab', 'ba']) hashes.add(hashSeed(seed, name))
    }
    expect(hashes.size).toBe(400)
    for (const h of hashes) expect(h >>> 0).toBe(h)
  })
})

describe('derived draws', () => {
  const n = 200_000

  test('uniform is in [0, 1) with mean 1/2 and variance 1/12', () => {
    const rng = createRng(1)
    let min = 1
    let max = 0
    const m = moments(() => {
      const u = rng.uniform()
      if (u < min) min = u
      if (u > max) max = u
      return u
    }, n)
    expect(min).toBeGreaterThanOrEqual(0)
    expect(max).toBeLessThan(1)
    expect(m.mean).toBeCloseTo(0.5, 2)
    expect(m.variance).toBeCloseTo(1 / 12, 3)
  })

  test('uniformOpen never returns 0 or 1', () => {
    const rng = createRng(2)
    let outside = 0
    for (let i = 0; i < n; i++) {
      const u = rng.uniformOpen()
      if (!(u > 0 && u < 1)) outside++
    }
    expect(outside).toBe(0)
  })

  test('int(n) covers 0..n-1 evenly', () => {
    const rng = createRng(3)
    const counts = new Array<number>(7).fill(0)
    for (let i = 0; i < 70_000; i++) {
      const k = rng.int(7)
      counts[k] = counts[k]! + 1
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400)
  })

  test('exponential has mean 1/rate and variance 1/rate²', () => {
    const rng = createRng(4)
    const m = moments(() => rng.exponential(4), n)
    expect(m.mean).toBeCloseTo(0.25, 2)
    expect(m.variance).toBeCloseTo(0.0625, 2)
  })

  test('normal has mean 0, variance 1 and kurtosis 3', () => {
    const rng = createRng(5)
    const xs = Array.from({ length: n }, () => rng.normal())
    const mean = xs.reduce((a, b) => a + b, 0) / n
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / n
    const kurtosis = xs.reduce((a, b) => a + (b - mean) ** 4, 0) / n / variance ** 2
    expect(mean).toBeCloseTo(0, 2)
    expect(variance).toBeCloseTo(1, 1)
    expect(kurtosis).toBeGreaterThan(2.9)
    expect(kurtosis).toBeLessThan(3.1)
  })

  test.each([0.5, 7, 29, 120])('poisson(%d) has mean and variance equal to its mean', (mean) => {
    const rng = createRng(6)
    const m = moments(() => rng.poisson(mean), 100_000)
    expect(Math.abs(m.mean - mean)).toBeLessThan(0.02 * mean + 0.01)
    expect(Math.abs(m.variance - mean)).toBeLessThan(0.05 * mean + 0.02)
  })

  test('pareto(1, 1.5) has P(X > x) = x^-1.5', () => {
    const rng = createRng(7)
    let above2 = 0
    let above10 = 0
    let min = Number.POSITIVE_INFINITY
    for (let i = 0; i < n; i++) {
      const x = rng.pareto(1, 1.5)
      if (x < min) min = x
      if (x > 2) above2++
      if (x > 10) above10++
    }
    expect(min).toBeGreaterThanOrEqual(1)
    expect(above2 / n).toBeCloseTo(2 ** -1.5, 2)
    expect(above10 / n).toBeCloseTo(10 ** -1.5, 2)
  })

  test('geometric(0.3) counts failures: mean 7/3, P(0) = 0.3', () => {
    const rng = createRng(8)
    let zeros = 0
    const m = moments(() => {
      const g = rng.geometric(0.3)
      if (g === 0) zeros++
      return g
    }, n)
    expect(m.mean).toBeCloseTo(7 / 3, 1)
    expect(m.variance).toBeCloseTo(0.7 / 0.09, 0)
    expect(zeros / n).toBeCloseTo(0.3, 2)
    expect(rng.geometric(1)).toBe(0)
  })
})
