/**
 * DBN status records (the `status` schema, StatusMsg, rtype 0x12) as tickstorm's `status` tick.
 *
 * Layout (DBN specification, StatusMsg; the same 40 bytes in versions 1, 2 and 3, since the record
 * was first published with these fields): the 16-byte record header, then ts_recv u64 at 16,
 * action u16 at 24, reason u16 at 26, trading_event u16 at 28, is_trading, is_quoting and
 * is_short_sell_restricted as one character each (`Y`, `N` or `~`) at 30, 31 and 32, and 7
 * reserved bytes.
 *
 * `action` (StatusAction) says what happened; only a halt and a return to trading change what the
 * model's status tick says, so those are what become ticks, the way ITCH's trading actions are:
 * halt, pause, suspend, not-available-for-trading and quoting-only (the book is up, nothing
 * trades: ITCH's `Q`) are `halted`; trading is `trading`. Scheduled session steps (pre-open,
 * cross, rotation, pre-close, close, post-close), price indications, short-sale restriction
 * changes and "no change" are read and produce no tick: the model has no state for them, and a
 * `halted` at every close would end each symbol's day twice (the replay's own `tape-ended` does).
 * `is_trading` is a best-effort summary of the same thing and is not consulted.
 */

import type { TradingStatus } from '../types.js'

/** Bytes of a StatusMsg, the least a status record's length may say. */
export const STATUS_BYTES = 40
/** Offsets in the record of the fields read. */
export const STATUS_TS_RECV_AT = 16
const ACTION_AT = 24
const REASON_AT = 26

/** StatusAction values (DBN `enums`), by the status tick they become. */
const ACTION_TRADING = 7
const HALTING_ACTIONS: Readonly<Record<number, string>> = Object.freeze({
  3: 'quoting',
  8: 'halt',
  9: 'pause',
  10: 'suspend',
  15: 'not-available-for-trading',
})

/**
 * StatusReason values (DBN `enums`), as the kebab-case of their spec names: the tick's `reason`.
 * 0 (none) gives way to the action's name, so a reason is never empty.
 */
const REASONS: Readonly<Record<number, string>> = Object.freeze({
  1: 'scheduled',
  2: 'surveillance-intervention',
  3: 'market-event',
  4: 'instrument-activation',
  5: 'instrument-expiration',
  6: 'recovery-in-process',
  10: 'regulatory',
  11: 'administrative',
  12: 'non-compliance',
  13: 'filings-not-current',
  14: 'sec-trading-suspension',
  15: 'new-issue',
  16: 'issue-available',
  17: 'issues-reviewed',
  18: 'filing-reqs-satisfied',
  30: 'news-pending',
  31: 'news-released',
  32: 'news-and-resumption-times',
  33: 'news-not-forthcoming',
  40: 'order-imbalance',
  50: 'luld-pause',
  60: 'operational',
  70: 'additional-information-requested',
  80: 'merger-effective',
  90: 'etf',
  100: 'corporate-action',
  110: 'new-security-offering',
  120: 'market-wide-halt-level1',
  121: 'market-wide-halt-level2',
  122: 'market-wide-halt-level3',
  123: 'market-wide-halt-carryover',
  124: 'market-wide-halt-resumption',
  130: 'quotation-not-available',
})

export interface DbnStatusChange {
  readonly status: TradingStatus
  readonly reason: string
}

/**
 * The status tick a StatusMsg at `at` in `view` says, or undefined for an action that changes
 * nothing the model shows. A reason code newer than this table is kept as `reason-N`, so it is
 * still told apart.
 */
export function dbnStatusChange(view: DataView, at: number): DbnStatusChange | undefined {
  const action = view.getUint16(at + ACTION_AT, true)
  const halting = HALTING_ACTIONS[action]
  if (halting === undefined && action !== ACTION_TRADING) return undefined
  const code = view.getUint16(at + REASON_AT, true)
  const reason = code === 0 ? (halting ?? 'trading') : (REASONS[code] ?? `reason-${code}`)
  return { status: halting === undefined ? 'trading' : 'halted', reason }
}
