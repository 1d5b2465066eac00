/** Display formats, in one place so the table, charts and tiles agree. */

const DASH = '—'

/** Prices on the wire have at most four decimals ($0.0001, the finest grid Rule 612 allows). */
const WIRE_DECIMALS = 4

/** Decimals of a tick size: $0.01 → 2, $0.0001 → 4. */
export function tickDecimals(tickSize: number): number {
  if (!(tickSize > 0)) return 2
  const text = tickSize.toFixed(WIRE_DECIMALS).replace(/0+$/, '')
  return Math.max(0, text.length - text.indexOf('.') - 1)
}

/**
 * The tick size to assume when `/v1/symbols` did not give one: Rule 612's, $0.01 at $1 and up,
 * $0.0001 below.
 */
export const defaultTickSize = (price: number): number => (Math.abs(price) >= 1 ? 0.01 : 0.0001)

/**
 * A price in two parts: the digits on the instrument's tick grid, and the digits past it. Quotes
 * always sit on the grid, so `subTick` is empty for them; a trade may not: an off-exchange print at
 * the midpoint of a one-cent spread is at a half penny (189.125), as real TRF prints are. The page
 * shows every price of an instrument with its tick's decimals and those extra digits apart (dimmer,
 * in a slot every row of the column keeps), so a column never mixes 2 and 3 decimals and its
 * decimal points line up.
 */
export interface PriceParts {
  readonly grid: string
  readonly subTick: string
}

const EMPTY: PriceParts = { grid: DASH, subTick: '' }

function split(text: string, tickSize: number): PriceParts {
  const cut = text.length - (WIRE_DECIMALS - tickDecimals(tickSize))
  const grid = text.slice(0, cut)
  return {
    grid: grid.endsWith('.') ? grid.slice(0, -1) : grid,
    subTick: text.slice(cut).replace(/0+$/, ''),
  }
}

export function priceParts(price: number, tickSize: number): PriceParts {
  return Number.isFinite(price) ? split(price.toFixed(WIRE_DECIMALS), tickSize) : EMPTY
}

/** A signed change in the same two parts: +0.03, −0.03 and 5 (a change to a half-penny print). */
export function changeParts(change: number, tickSize: number): PriceParts {
  if (!Number.isFinite(change)) return EMPTY
  const text = Math.abs(change).toFixed(WIRE_DECIMALS)
  // Rounded first, so a change that shows as zero has no sign (never "−0.00").
  const sign = Number(text) === 0 ? '' : change > 0 ? '+' : '−'
  const parts = split(text, tickSize)
  return { grid: `${sign}${parts.grid}`, subTick: parts.subTick }
}

/** Both parts as one string, for places that show a price inline (the chart's quote line). */
export const joinParts = (parts: PriceParts): string => `${parts.grid}${parts.subTick}`

export function formatPrice(price: number, tickSize: number): string {
  return joinParts(priceParts(price, tickSize))
}

export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return DASH
  const text = Math.abs(ratio * 100).toFixed(2)
  if (Number(text) === 0) return `${text}%`
  return `${ratio > 0 ? '+' : '−'}${text}%`
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export function formatCount(count: number): string {
  return Number.isFinite(count) ? integer.format(count) : DASH
}

/** Lot sizes: 1,200 or 12.5k. */
export function formatSize(size: number): string {
  if (!Number.isFinite(size) || size <= 0) return DASH
  return size >= 10_000 ? `${(size / 1000).toFixed(1)}k` : integer.format(size)
}

/**
 * Microseconds as milliseconds: 0.84 ms, 12.3 ms, 1,204 ms. A no-break space joins number and
 * unit, so a narrow cell never leaves "ms" alone on a second line.
 */
export function formatLatencyUs(us: number): string {
  if (!Number.isFinite(us)) return DASH
  const ms = us / 1000
  if (Math.abs(ms) < 10) return `${ms.toFixed(2)}\u00a0ms`
  if (Math.abs(ms) < 100) return `${ms.toFixed(1)}\u00a0ms`
  return `${integer.format(ms)}\u00a0ms`
}

/** 14:03:07.412 in local time, for the connection log. */
export function formatClock(epochMs: number): string {
  const date = new Date(epochMs)
  const pad = (value: number, width = 2) => String(value).padStart(width, '0')
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
}
