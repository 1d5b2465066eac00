/** Display formats, in one place so the table, charts and tiles agree. */

const DASH = '—'

/** Decimals to show: cents at $1 and up, four below (the tick grid), more only when present. */
function decimalsFor(value: number, scale: number): number {
  const text = Math.abs(value).toFixed(4).replace(/0+$/, '')
  return Math.max(scale < 1 ? 4 : 2, text.length - text.indexOf('.') - 1)
}

export function formatPrice(price: number): string {
  return Number.isFinite(price) ? price.toFixed(decimalsFor(price, price)) : DASH
}

/** A signed change with the decimals of its reference price: +0.04, −1.25, −0.0012. */
export function formatChange(change: number, reference: number): string {
  if (!Number.isFinite(change)) return DASH
  return signed(change, decimalsFor(change, reference))
}

export function formatPercent(ratio: number): string {
  return Number.isFinite(ratio) ? `${signed(ratio * 100, 2)}%` : DASH
}

/** Rounds first, so a value that shows as zero has no sign (never "−0.00"). */
function signed(value: number, decimals: number): string {
  const text = Math.abs(value).toFixed(decimals)
  if (Number(text) === 0) return text
  return `${value > 0 ? '+' : '−'}${text}`
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

/** Microseconds as milliseconds: 0.84 ms, 12.3 ms, 1,204 ms. */
export function formatLatencyUs(us: number): string {
  if (!Number.isFinite(us)) return DASH
  const ms = us / 1000
  if (Math.abs(ms) < 10) return `${ms.toFixed(2)} ms`
  if (Math.abs(ms) < 100) return `${ms.toFixed(1)} ms`
  return `${integer.format(ms)} ms`
}

/** 14:03:07.412 in local time, for the connection log. */
export function formatClock(epochMs: number): string {
  const date = new Date(epochMs)
  const pad = (value: number, width = 2) => String(value).padStart(width, '0')
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
}
