/**
 * The market's output contract. Everything here is plain integer data so that the same seed and
 * config give identical ticks on any machine and at any pacing speed (floats are rounded to the
 * tick grid at one defined point inside the price model, never here).
 */

/** Prices are integers in units of $0.0001 (4 implied decimals, as IEX TOPS and ITCH do). */
export const PRICE_SCALE = 10_000

/** Simulated time is integer microseconds since simulated midnight (ET); 09:30 = 34_200_000_000. */
export const SESSION_OPEN_US = 34_200_000_000
export const SESSION_CLOSE_US = 57_600_000_000

export type PresetName =
  | 'quiet'
  | 'normal'
  | 'open-burst'
  | 'close'
  | 'news-spike'
  | 'flash-crash'
  | 'halt-resume'
  | 'stress'

export interface Instrument {
  /** Position in the universe; ticks refer to instruments by this index. */
  readonly index: number
  /** Ticker-like symbol, `[A-Z]{1,5}` (plus `.` class suffixes are not used), unique. */
  readonly symbol: string
  /** Tick size in price units: 100 ($0.01) at or above $1, 1 ($0.0001) below. */
  readonly tickUnits: number
  /** Round lot in shares for the start price band (100 / 40 / 10 / 1). */
  readonly lotSize: number
  /** Start mid price in price units. */
  readonly startPrice: number
  readonly volatility: number
  readonly beta: number
}

/** Trade conditions, a small table in the spirit of Polygon/Alpaca codes. */
export type TradeCondition =
  | 0 // regular
  | 1 // odd lot
  | 2 // intermarket sweep (ISO)
  | 3 // opening cross
  | 4 // closing cross
  | 5 // off-exchange / TRF (midpoint or inside print)

export interface QuoteTick {
  readonly kind: 'quote'
  /** Instrument index. */
  readonly symbol: number
  /** Per-symbol sequence, strictly increasing by 1 for each tick of that symbol (any kind). */
  readonly seq: number
  readonly simTimeUs: number
  readonly bid: number
  readonly bidSize: number
  readonly ask: number
  readonly askSize: number
}

export interface TradeTick {
  readonly kind: 'trade'
  readonly symbol: number
  readonly seq: number
  readonly simTimeUs: number
  readonly price: number
  readonly size: number
  readonly conditions: readonly TradeCondition[]
}

export type TradingStatus = 'halted' | 'trading' | 'imbalance'

export interface StatusTick {
  readonly kind: 'status'
  readonly symbol: number
  readonly seq: number
  readonly simTimeUs: number
  readonly status: TradingStatus
  /** Human-readable reason: `luld`, `news`, `noi`, `reopen`, … */
  readonly reason: string
}

export type Tick = QuoteTick | TradeTick | StatusTick
export type TickKind = Tick['kind']

export interface Market {
  readonly seed: number
  readonly preset: PresetName
  readonly instruments: readonly Instrument[]
  /** Simulated time the market starts at (preset dependent, e.g. 09:29:30 for open-burst). */
  readonly startSimTimeUs: number
  /** Simulated time up to which ticks have been produced. */
  readonly simTimeUs: number
  /**
   * Appends to `out`, in time order, every tick with `simTimeUs <= untilSimTimeUs` not yet
   * produced, and advances the clock. Calling it with any sequence of increasing targets gives the
   * same ticks as one call with the last target: that is what makes output independent of speed.
   */
  advanceTo(untilSimTimeUs: number, out: Tick[]): void
  /** The current top of book of a symbol (its initial quote, seq 0, before its first tick). */
  latestQuote(symbol: number): QuoteTick
}
