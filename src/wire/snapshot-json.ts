import type { QuoteTick } from '../market/types.js'
import { formatPrice } from './tick-json.js'

/** What a snapshot says about one symbol (the feed's latest values have this shape). */
export interface SnapshotEntry {
  readonly symbol: number
  /** Latest per-symbol sequence of any tick kind. */
  readonly seq: number
  readonly quote: QuoteTick
  /** Last trade price in price units, or -1 before the first trade. */
  readonly lastPrice: number
  readonly halted: boolean
}

/**
 * The payload of a `snapshot` event and of `GET /v1/snapshot`: the full state of a set of symbols.
 * `reset: true` tells a resuming client that the events since its id could not be replayed (the
 * id was older than the ring, unknown or malformed) and that this state replaces them; `seq` is
 * the global sequence the state is current to, which is also the event's `id`. A conflated
 * snapshot, sent to a consumer too slow to take every tick, says which ids it stands in for with
 * `replaces: {from, to}` (inclusive).
 */
export function encodeSnapshotJson(
  states: readonly SnapshotEntry[],
  symbolNames: readonly string[],
  seq: number,
  nowUs: number,
  reset: boolean,
  replaces?: { readonly from: number; readonly to: number },
): string {
  const parts: string[] = new Array(states.length)
  for (let i = 0; i < states.length; i++) {
    const state = states[i]!
    const quote = state.quote
    let entry = `{"sym":"${symbolNames[state.symbol]}","q":${state.seq},"bp":${formatPrice(quote.bid)},"bs":${quote.bidSize},"ap":${formatPrice(quote.ask)},"as":${quote.askSize}`
    if (state.lastPrice >= 0) entry += `,"lp":${formatPrice(state.lastPrice)}`
    if (state.halted) entry += ',"halted":true'
    parts[i] = `${entry}}`
  }
  const conflated =
    replaces === undefined ? '' : `,"replaces":{"from":"${replaces.from}","to":"${replaces.to}"}`
  return `{"ts":${nowUs},"seq":${seq},"reset":${reset}${conflated},"quotes":[${parts.join(',')}]}`
}
