import { describe, expect, test } from 'vitest'
import { createAliasTable } from '../../src/market/alias-table.js'
import { createRng } from '../../src/market/rng.js'

function frequencies(weights: number[], draws: number): number[] {
  const table = createAliasTable(weights)
  const rng = createRng(11)
  const counts = new Array<number>(weights.length).fill(0)
  for (let i = 0; i < draws; i++) {
    const k = table.pick(rng.uniform())
    counts[k] = counts[k]! + 1
  }
  return counts.map((c) => c / draws)
}

describe('alias table', () => {
  test('draws each outcome with its weight', () => {
    const weights = [5, 1, 0.5, 3, 0.25, 10, 0.25]
    const total = weights.reduce((a, b) => a + b, 0)
    const observed = frequencies(weights, 400_000)
    weights.forEach((w, i) => {
      expect(Math.abs(observed[i]! - w / total)).toBeLessThan(0.003)
    })
  })

  test('never draws a zero weight', () => {
    const observed = frequencies([0, 1, 0, 2, 0], 100_000)
    expect(observed[0]).toBe(0)
    expect(observed[2]).toBe(0)
    expect(observed[4]).toBe(0)
    expect(observed[1]).toBeCloseTo(1 / 3, 2)
  })

  test('a single outcome is always drawn', () => {
    const table = createAliasTable([3])
    expect([0, 0.5, 0.999999].map((u) => table.pick(u))).toEqual([0, 0, 0])
  })

  test('maps u deterministically: equal weights give the column u·n', () => {
    const table = createAliasTable([1, 1, 1, 1])
    expect([0, 0.26, 0.5, 0.99].map((u) => table.pick(u))).toEqual([0, 1, 2, 3])
  })

  test('rejects empty, negative, non-finite or all-zero weights', () => {
    expect(() => createAliasTable([])).toThrow(RangeError)
    expect(() => createAliasTable([1, -1])).toThrow(RangeError)
    expect(() => createAliasTable([1, Number.NaN])).toThrow(RangeError)
    expect(() => createAliasTable([1, Number.POSITIVE_INFINITY])).toThrow(RangeError)
    expect(() => createAliasTable([0, 0])).toThrow(RangeError)
  })
})
