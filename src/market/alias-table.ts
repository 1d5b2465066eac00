/**
 * Walker's alias method (Vose's stable construction): O(n) to build, O(1) and one uniform per
 * draw, for any fixed discrete distribution. A cumulative table with binary search would cost
 * log2(8000) ≈ 13 unpredictable branches per draw on the hottest path of the market.
 */

export interface AliasTable {
  readonly size: number
  /** The outcome for a uniform `u` in [0, 1). */
  pick(u: number): number
}

/** Builds the table for non-negative weights (at least one positive); they need not sum to 1. */
export function createAliasTable(weights: ArrayLike<number>): AliasTable {
  const n = weights.length
  if (n === 0) throw new RangeError('alias table needs at least one weight')
  let total = 0
  for (let i = 0; i < n; i++) {
    const w = weights[i]!
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight ${i} is ${w}`)
    total += w
  }
  if (!(total > 0)) throw new RangeError('alias table needs a positive weight')

  const threshold = new Float64Array(n)
  const alias = new Int32Array(n)
  const scaled = new Float64Array(n)
  const small = new Int32Array(n)
  const large = new Int32Array(n)
  let smallCount = 0
  let largeCount = 0
  for (let i = 0; i < n; i++) {
    const s = (weights[i]! * n) / total
    scaled[i] = s
    if (s < 1) small[smallCount++] = i
    else large[largeCount++] = i
  }
  while (smallCount > 0 && largeCount > 0) {
    const lo = small[--smallCount]!
    const hi = large[--largeCount]!
    threshold[lo] = scaled[lo]!
    alias[lo] = hi
    const rest = scaled[hi]! + scaled[lo]! - 1
    scaled[hi] = rest
    if (rest < 1) small[smallCount++] = hi
    else large[largeCount++] = hi
  }
  // What is left is 1 up to rounding: those columns never use their alias.
  while (largeCount > 0) {
    const i = large[--largeCount]!
    threshold[i] = 1
    alias[i] = i
  }
  while (smallCount > 0) {
    const i = small[--smallCount]!
    threshold[i] = 1
    alias[i] = i
  }

  return {
    size: n,
    pick(u: number): number {
      const x = u * n
      const column = x | 0
      return x - column < threshold[column]! ? column : alias[column]!
    },
  }
}
