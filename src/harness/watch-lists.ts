import { ERROR_CODES, TickstormError } from '../errors.js'
import { createAliasTable } from '../market/alias-table.js'
import { createStream } from '../market/rng.js'
import { zipfShares } from '../market/symbol-choice.js'

export interface WatchListSpec {
  readonly size: number
  readonly pick: 'zipf' | 'uniform' | 'fixed'
  readonly symbols?: readonly string[] | undefined
  readonly seed: number
}

/**
 * Each subscriber's symbols, deterministic from the seed. `universe` is ordered by activity (the
 * server's /v1/symbols order), so `zipf` puts the busiest names on most lists, as real
 * watch-lists do; `uniform` spreads evenly; `fixed` gives everyone the same list. A list as large
 * as the universe is null: subscribe to everything.
 */
export function pickWatchLists(
  universe: readonly string[],
  count: number,
  spec: WatchListSpec,
): (readonly string[] | null)[] {
  if (spec.pick === 'fixed') {
    const fixed = spec.symbols ?? universe.slice(0, spec.size)
    const unknown = fixed.filter((symbol) => !universe.includes(symbol))
    if (unknown.length > 0) {
      // The scenario asked for them: its error, with its path, as the loader reports.
      const problem = `\`subscribers.watchList.symbols\` must be symbols the target offers, got ${JSON.stringify(unknown)}`
      throw new TickstormError(ERROR_CODES.INVALID_SCENARIO, `invalid scenario: ${problem}`, {
        details: { problems: [problem] },
      })
    }
    return new Array(count).fill(fixed.length >= universe.length ? null : fixed)
  }
  const size = Math.min(spec.size, universe.length)
  if (size >= universe.length) return new Array(count).fill(null)
  const rng = createStream(spec.seed, `watch-lists/${spec.pick}`)
  const table = spec.pick === 'zipf' ? createAliasTable(zipfShares(universe.length)) : null
  const lists: (readonly string[])[] = []
  const chosen = new Set<number>()
  for (let i = 0; i < count; i++) {
    chosen.clear()
    while (chosen.size < size) {
      chosen.add(table === null ? rng.int(universe.length) : table.pick(rng.uniform()))
    }
    lists.push([...chosen].sort((a, b) => a - b).map((index) => universe[index]!))
  }
  return lists
}
