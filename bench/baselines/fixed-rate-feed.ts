/**
 * What both baseline servers share: the command line, a one-symbol universe, and a fixed-rate
 * publisher that stamps each event's `ts` with its *scheduled* time (the project's clock), so a
 * late timer or a slow fan-out shows up as latency exactly as it does for tickstorm. Payloads have
 * tickstorm's field order and a quote's size (`ts`, `sym`, `q` first: the harness's fast path).
 */

import { nowUs } from '../../src/clock.js'

export interface BaselineOptions {
  readonly port: number
  readonly ratePerSec: number
}

export function parseBaselineArgs(argv: readonly string[]): BaselineOptions {
  const value = (name: string, fallback: number): number => {
    const at = argv.indexOf(name)
    const parsed = at < 0 ? fallback : Number(argv[at + 1])
    if (!Number.isFinite(parsed) || parsed < 0) throw new RangeError(`${name} must be a number ≥ 0`)
    return parsed
  }
  return { port: value('--port', 0), ratePerSec: value('--rate', 100) }
}

export const SYMBOL = 'AAAA'
export const SYMBOLS_BODY = Buffer.from(
  JSON.stringify({ count: 1, symbols: [{ symbol: SYMBOL, tickSize: 0.01, lotSize: 100 }] }),
)

/** The JSON of event number `q`, scheduled at `tsUs`: as long as a tickstorm quote. */
export function tickJson(q: number, tsUs: number): string {
  const bid = (100 + (q % 50) / 100).toFixed(2)
  const ask = (100.01 + (q % 50) / 100).toFixed(2)
  return `{"ts":${tsUs},"sym":"${SYMBOL}","q":${q},"bp":${bid},"bs":300,"ap":${ask},"as":700}`
}

/**
 * Calls `publish` once per event at `ratePerSec`, on schedule: event k is due at start + k/rate
 * and keeps that scheduled time however late it goes out. A timer that fires late publishes every
 * overdue event in the same tick, so Node's per-tick corking coalesces them into one write per
 * socket: the batching a plain server gets for free when it falls behind.
 */
export function startFixedRate(
  ratePerSec: number,
  publish: (q: number, scheduledUs: number) => void,
): void {
  if (ratePerSec === 0) return
  const periodUs = 1e6 / ratePerSec
  const startUs = nowUs()
  let q = 0
  const loop = (): void => {
    const now = nowUs()
    while (startUs + (q + 1) * periodUs <= now) {
      q++
      publish(q, Math.round(startUs + q * periodUs))
    }
    const nextUs = startUs + (q + 1) * periodUs
    setTimeout(loop, Math.max(0, (nextUs - nowUs()) / 1000))
  }
  setTimeout(loop, periodUs / 1000)
}
