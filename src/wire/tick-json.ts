import { PRICE_SCALE, type Tick } from '../market/types.js'

/**
 * The JSON payload of one tick, built by concatenation rather than `JSON.stringify`: every field
 * is a number or a `[A-Z]` symbol, so nothing needs escaping, and this runs once per tick for
 * every subscriber (never once per subscriber).
 *
 * `ts` leads the object so a byte-level reader can find the scheduled time without parsing JSON.
 * It is epoch microseconds (≈1.7e15, well inside Number.MAX_SAFE_INTEGER); `q` is the per-symbol
 * sequence; prices are decimals on the tick grid; sizes are shares.
 */
export function encodeTickJson(tick: Tick, symbol: string, scheduledUs: number): string {
  const head = `{"ts":${scheduledUs},"sym":"${symbol}","q":${tick.seq}`
  switch (tick.kind) {
    case 'quote':
      return `${head},"bp":${formatPrice(tick.bid)},"bs":${tick.bidSize},"ap":${formatPrice(tick.ask)},"as":${tick.askSize}}`
    case 'trade':
      return `${head},"p":${formatPrice(tick.price)},"s":${tick.size},"c":[${tick.conditions.join(',')}]}`
    case 'status':
      return `${head},"status":"${tick.status}","reason":${JSON.stringify(tick.reason)}}`
  }
}

/** Integer price units ($0.0001) to the shortest exact decimal: 1891200 → "189.12", 100 → "0.01". */
export function formatPrice(units: number): string {
  const whole = Math.floor(units / PRICE_SCALE)
  let frac = units - whole * PRICE_SCALE
  if (frac === 0) return String(whole)
  let digits = 4
  while (frac % 10 === 0) {
    frac /= 10
    digits--
  }
  return `${whole}.${String(frac).padStart(digits, '0')}`
}
