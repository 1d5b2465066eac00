/**
 * Which symbol an event belongs to (market-data.md §4.1 step 3): Zipf–Mandelbrot weights
 * w_k ∝ 1/(k + q)^s drawn by an alias table, with stickiness: with probability ρ the event
 * re-picks one of the last K symbols instead. The recent picks were themselves drawn from the
 * weights, so the long-run shares stay the Zipf shares while single names burst.
 */

import { type AliasTable, createAliasTable } from './alias-table.js'
import type { Rng } from './rng.js'

export interface SymbolChoiceOptions {
  readonly weights: ArrayLike<number>
  /** ρ: probability of re-picking a recent symbol (0.3). */
  readonly stickiness: number
  /** K: how many recent picks to remember (8). */
  readonly memory: number
  readonly rng: Rng
}

export interface SymbolChoice {
  /** Draws the symbol of the next market-wide event and remembers it. */
  pick(): number
  /** Remembers a symbol chosen elsewhere (a burst's), so stickiness can follow it. */
  remember(symbol: number): void
}

/**
 * Zipf–Mandelbrot shares for ranks 1..count: s = 1; q = 5 up to 1,000 names, rising as
 * 5·(N/1000)^(1/3) to 10 at 8,000 (§4.2: a flatter head for a larger universe).
 */
export function zipfShares(count: number): Float64Array {
  const q = zipfOffset(count)
  const shares = new Float64Array(count)
  let total = 0
  for (let k = 1; k <= count; k++) {
    const w = 1 / (k + q)
    shares[k - 1] = w
    total += w
  }
  for (let i = 0; i < count; i++) shares[i] = shares[i]! / total
  return shares
}

export function zipfOffset(count: number): number {
  return count <= 1000 ? 5 : 5 * Math.cbrt(count / 1000)
}

export function createSymbolChoice(options: SymbolChoiceOptions): SymbolChoice {
  const table: AliasTable = createAliasTable(options.weights)
  const { stickiness, rng } = options
  const memory = Math.max(1, options.memory)
  const recent = new Int32Array(memory)
  let filled = 0
  let cursor = 0

  const remember = (symbol: number): void => {
    recent[cursor] = symbol
    cursor = cursor + 1 === memory ? 0 : cursor + 1
    if (filled < memory) filled++
  }

  return {
    pick(): number {
      const u = rng.uniform()
      // One uniform serves both choices: below ρ, u/ρ is again uniform on [0, 1).
      const symbol =
        u < stickiness && filled > 0
          ? recent[Math.floor((u / stickiness) * filled)]!
          : table.pick(rng.uniform())
      remember(symbol)
      return symbol
    },
    remember,
  }
}
