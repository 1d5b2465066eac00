import { ERROR_CODES, type ErrorCode, TickstormError } from '../errors.js'

/**
 * What a client asked for: every symbol, or a set of instrument indices. Subscribers whose sets are
 * equal share one `key`, hence one fan-out group and one encoded batch per frame.
 */
export interface Subscription {
  /** `*` for every symbol, otherwise the sorted indices joined by commas. */
  readonly key: string
  /** Sorted instrument indices, or null for every symbol. */
  readonly symbols: readonly number[] | null
  /** Membership by instrument index (1 = subscribed), or null for every symbol. */
  readonly mask: Uint8Array | null
}

export const ALL_SYMBOLS: Subscription = Object.freeze({ key: '*', symbols: null, mask: null })

export function includes(subscription: Subscription, symbol: number): boolean {
  return subscription.mask === null || subscription.mask[symbol] === 1
}

export interface SymbolIndex {
  readonly names: readonly string[]
  readonly byName: ReadonlyMap<string, number>
}

export function createSymbolIndex(names: readonly string[]): SymbolIndex {
  return { names, byName: new Map(names.map((name, index) => [name, index])) }
}

/** Where a client named its symbols: the `symbols` query parameter, or a JSON body or message. */
export type SymbolsSource = 'query' | 'json'

/** `*` asks for every symbol, alone in a query (`symbols=*`) or as the JSON value `"symbols": "*"`. */
export const EVERY_SYMBOL = '*'

/**
 * The one rule for how a client names its symbols, on every route and over WebSocket; returns the
 * names, or null for every symbol.
 * - Every symbol is asked for explicitly: `*` (`symbols=*`, `"symbols": "*"`). The one exception
 *   is a GET without a `symbols` parameter, documented as "every symbol" since the first release.
 * - An empty list (`symbols=`, `"symbols": []`) is an error, `TS_ERR_NO_SYMBOLS`, never "every
 *   symbol": a client whose watch-list became empty would otherwise get the whole feed.
 * - A JSON body or message without `symbols` (an empty POST body, `{}`) is the same error: what a
 *   client forgot to say is not taken to mean everything.
 * `badInput` is the code for a value of the wrong shape (a query, a body and a message each have
 * their own).
 */
export function askedSymbols(
  value: unknown,
  source: SymbolsSource,
  badInput: ErrorCode,
): readonly string[] | null {
  const hint =
    source === 'query'
      ? 'name them (symbols=AAPL,MSFT) or ask for every symbol with symbols=*'
      : 'name them ("symbols": ["AAPL", "MSFT"]) or ask for every symbol with "symbols": "*"'
  let names: readonly string[]
  if (source === 'query') {
    if (value === null || value === undefined) return null
    names = value === '' ? [] : String(value).split(',')
  } else if (value === undefined) {
    throw new TickstormError(ERROR_CODES.NO_SYMBOLS, `"symbols" is missing: ${hint}`, {
      details: { reason: 'missing' },
    })
  } else if (value === EVERY_SYMBOL) {
    return null
  } else if (Array.isArray(value) && value.every((name) => typeof name === 'string')) {
    names = value as string[]
  } else {
    throw new TickstormError(badInput, `"symbols" must be "*" or an array of symbol names`)
  }
  if (names.length === 0) {
    throw new TickstormError(ERROR_CODES.NO_SYMBOLS, `symbols: the list is empty; ${hint}`, {
      details: { reason: 'empty' },
    })
  }
  if (names.includes(EVERY_SYMBOL)) {
    if (names.length === 1) return null
    throw new TickstormError(badInput, 'symbols: "*" (every symbol) cannot be mixed with names')
  }
  return names
}

/**
 * Resolves requested symbol names (case-insensitive, duplicates folded) to a subscription; null
 * (from `askedSymbols`) is every symbol. Unknown names are reported all at once, with a hint.
 */
export function resolveSubscription(
  requested: readonly string[] | null,
  index: SymbolIndex,
  maxSymbols: number,
  /** The code for a malformed list: it came from a query, a JSON body or a WebSocket message. */
  badInput: ErrorCode = ERROR_CODES.BAD_QUERY,
): Subscription {
  if (requested === null) return ALL_SYMBOLS
  const found = new Set<number>()
  const unknown: string[] = []
  for (const raw of requested) {
    const name = raw.trim().toUpperCase()
    if (name === '') {
      throw new TickstormError(badInput, 'symbols: empty symbol name in the list')
    }
    const symbol = index.byName.get(name)
    if (symbol === undefined) unknown.push(raw)
    else found.add(symbol)
  }
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 20).map((name) => JSON.stringify(name))
    throw new TickstormError(
      ERROR_CODES.UNKNOWN_SYMBOL,
      `unknown symbol${unknown.length > 1 ? 's' : ''}: ${shown.join(', ')}${unknown.length > 20 ? ', …' : ''} (GET /v1/symbols lists the ${index.names.length} known ones)`,
      { details: { unknown: unknown.slice(0, 100) } },
    )
  }
  if (found.size > maxSymbols) {
    throw new TickstormError(
      badInput,
      `symbols: at most ${maxSymbols} per subscription, got ${found.size}`,
      { details: { max: maxSymbols, got: found.size } },
    )
  }
  if (found.size === index.names.length) return ALL_SYMBOLS
  const symbols = [...found].sort((a, b) => a - b)
  const mask = new Uint8Array(index.names.length)
  for (const symbol of symbols) mask[symbol] = 1
  return { key: symbols.join(','), symbols, mask }
}
