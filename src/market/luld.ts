/**
 * Limit Up–Limit Down, simplified (market-data.md §4.1 step 7, §4.4 flash-crash with luld on).
 *
 * The reference price is an exponential average of the mid with a 5-minute time constant, an O(1)
 * stand-in for the plan's 5-minute arithmetic mean. Bands follow the plan's percentages: Tier 1
 * (here: the 100 most active names) 5%, Tier 2 10%, 20% from $0.75 to $3, and the lesser of
 * $0.15 or 75% below $0.75. A quote outside its band halts the name at once; the plan's 15-second
 * limit state is left out.
 */

import { PRICE_SCALE } from './types.js'

const REFERENCE_TIME_CONSTANT_US = 300_000_000
const TIER_1_RANKS = 100

export interface Luld {
  /** Updates the name's reference with `midUnits` and says whether the mid is outside its band. */
  breaches(symbol: number, tUs: number, midUnits: number): boolean
  /** Restarts the reference at `midUnits` (after a reopening). */
  reset(symbol: number, tUs: number, midUnits: number): void
}

export function bandFraction(rank: number, referenceUnits: number): number {
  if (referenceUnits > 3 * PRICE_SCALE) return rank <= TIER_1_RANKS ? 0.05 : 0.1
  if (referenceUnits >= 0.75 * PRICE_SCALE) return 0.2
  return Math.min(0.75, (0.15 * PRICE_SCALE) / referenceUnits)
}

export function createLuld(startPrices: readonly number[], startSimTimeUs: number): Luld {
  const reference = Float64Array.from(startPrices)
  const lastUs = new Float64Array(startPrices.length).fill(startSimTimeUs)
  return {
    breaches(symbol, tUs, midUnits) {
      const ref = reference[symbol]!
      const band = bandFraction(symbol + 1, ref)
      const outside = Math.abs(midUnits - ref) > band * ref
      const weight = 1 - Math.exp(-(tUs - lastUs[symbol]!) / REFERENCE_TIME_CONSTANT_US)
      reference[symbol] = ref + (midUnits - ref) * weight
      lastUs[symbol] = tUs
      return outside
    },
    reset(symbol, tUs, midUnits) {
      reference[symbol] = midUnits
      lastUs[symbol] = tUs
    },
  }
}
