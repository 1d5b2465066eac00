/**
 * The events every transport delivers, in one shape: SSE's `id:` / `event:` / `data:` fields,
 * which long polling and WebSocket carry as `{"id","event","data"}` (README, "Three transports,
 * one stream"). The payloads are the server's JSON, typed here for the page.
 */
export type EventType = 'quote' | 'trade' | 'status' | 'snapshot'

export interface QuoteData {
  /** Scheduled time, epoch microseconds: latency is measured from it. */
  readonly ts: number
  readonly sym: string
  /** Per-symbol sequence, +1 for every event of that symbol: gaps are counted from it. */
  readonly q: number
  readonly bp: number
  readonly bs: number
  readonly ap: number
  readonly as: number
}

export interface TradeData {
  readonly ts: number
  readonly sym: string
  readonly q: number
  readonly p: number
  readonly s: number
  readonly c: readonly number[]
}

export interface StatusData {
  readonly ts: number
  readonly sym: string
  readonly q: number
  readonly status: 'halted' | 'trading' | 'imbalance'
  readonly reason?: string
}

export interface SnapshotQuote {
  readonly sym: string
  readonly q: number
  readonly bp: number
  readonly bs: number
  readonly ap: number
  readonly as: number
  readonly lp?: number
  readonly halted?: boolean
}

export interface SnapshotData {
  readonly ts: number
  readonly seq: number
  /** True when the server could not replay from the id asked for: events were skipped. */
  readonly reset: boolean
  readonly quotes: readonly SnapshotQuote[]
}

export type StreamEvent =
  | { readonly id: string; readonly type: 'quote'; readonly data: QuoteData }
  | { readonly id: string; readonly type: 'trade'; readonly data: TradeData }
  | { readonly id: string; readonly type: 'status'; readonly data: StatusData }
  | { readonly id: string; readonly type: 'snapshot'; readonly data: SnapshotData }

export const EVENT_TYPES: readonly EventType[] = ['quote', 'trade', 'status', 'snapshot']

/**
 * An event from its three fields, or null for a type this page does not know (a newer server may
 * add some; skipping them is safer than guessing their shape).
 */
export function toStreamEvent(id: string, type: string, data: unknown): StreamEvent | null {
  if (!(EVENT_TYPES as readonly string[]).includes(type)) return null
  if (typeof data !== 'object' || data === null) return null
  return { id, type, data } as StreamEvent
}

/** Received time in epoch microseconds, sub-millisecond where the browser allows it. */
export function nowUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000
}
