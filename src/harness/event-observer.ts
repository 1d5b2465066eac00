import { nowUs } from '../clock.js'
import { createSequenceTracker, type SequenceTracker } from './sequence-tracker.js'
import type { TransportMetrics } from './transport-metrics.js'

/**
 * What one subscriber does with each event, whatever the transport: latency from the event's
 * scheduled time, gaps and duplicates from the market's per-symbol sequence `q` (global ids skip
 * on a filtered stream, `q` does not), snapshots resetting that state, and reconnect recovery.
 */
export interface EventObserver {
  /**
   * The observer's state for `name`, created on first use and the same object for the observer's
   * life. Engines look a symbol up once and pass the handle to every `tick`, so the hot path
   * neither builds a symbol string nor hashes one per event.
   */
  symbol(name: string): ObservedSymbol
  /** A tick: its symbol, per-symbol sequence and scheduled time (epoch µs). */
  tick(symbol: ObservedSymbol, q: number, scheduledUs: number, receiptUs: number): void
  /** A snapshot: per symbol its sequence; `reset` when the resume point was lost. */
  snapshot(
    quotes: readonly { readonly sym: string; readonly q: number }[],
    reset: boolean,
    receiptUs: number,
  ): void
  /** The connection dropped; the subscriber will reconnect. */
  dropped(): void
  /** The new connection is up (events after this with older scheduled times came from replay). */
  reconnected(): void
  /**
   * Events never received: per symbol of the watch-list (null: every symbol in `heads`), `heads`'
   * sequence minus the highest seen (or `baseline`'s, for a symbol never seen; a symbol in neither
   * counts nothing: there is no telling where this subscriber began).
   */
  missing(heads: ReadonlyMap<string, number>, baseline: ReadonlyMap<string, number>): number
}

/** One symbol as one observer sees it: the per-symbol sequence `q` it checks gaps against. */
export interface ObservedSymbol {
  readonly name: string
  readonly sequence: SequenceTracker
}

export function createEventObserver(
  metrics: TransportMetrics,
  symbols: readonly string[] | null = null,
): EventObserver {
  return new Observer(metrics, symbols)
}

/**
 * A class rather than closures for the same reason as the sequence tracker: one per subscriber,
 * on every event's path. `symbol` is an arrow field, so engines may pass it on detached.
 */
class Observer implements EventObserver {
  private readonly metrics: TransportMetrics
  private readonly symbols = new Map<string, ObservedSymbol>()
  private droppedAtUs = 0
  private reconnectedAtUs = 0
  private awaitingFirst = false
  private replaying = false
  private recovered = 0
  private readonly watchList: readonly string[] | null

  constructor(metrics: TransportMetrics, watchList: readonly string[] | null) {
    this.metrics = metrics
    this.watchList = watchList
  }

  missing(heads: ReadonlyMap<string, number>, baseline: ReadonlyMap<string, number>): number {
    let missing = 0
    for (const name of this.watchList ?? heads.keys()) {
      const head = heads.get(name)
      if (head === undefined) continue
      const seen = this.symbols.get(name)?.sequence.highest ?? -1
      const from = seen >= 0 ? seen : baseline.get(name)
      if (from !== undefined && head > from) missing += head - from
    }
    return missing
  }

  readonly symbol = (name: string): ObservedSymbol => {
    let observed = this.symbols.get(name)
    if (observed === undefined) {
      observed = { name, sequence: createSequenceTracker({ windowSize: 256 }) }
      this.symbols.set(name, observed)
    }
    return observed
  }

  tick(symbol: ObservedSymbol, q: number, scheduledUs: number, receiptUs: number): void {
    const metrics = this.metrics
    metrics.recordLatencyUs(receiptUs - scheduledUs)
    const tracker = symbol.sequence
    switch (tracker.observe(q)) {
      case 'gap':
        metrics.addGap(tracker.gapSize)
        break
      case 'duplicate':
        metrics.countDuplicate()
        break
      case 'out-of-order':
        metrics.countOutOfOrder()
        break
      case 'ok':
        break
    }
    if (this.awaitingFirst || this.replaying) this.afterReconnect(scheduledUs, receiptUs)
  }

  private afterReconnect(scheduledUs: number, receiptUs: number): void {
    if (this.awaitingFirst) {
      this.awaitingFirst = false
      this.metrics.recordRecoveryUs(receiptUs - this.droppedAtUs)
    }
    if (this.replaying) {
      if (scheduledUs < this.reconnectedAtUs) this.recovered++
      else this.endReplay()
    }
  }

  private endReplay(): void {
    this.replaying = false
    this.metrics.addRecoveredByReplay(this.recovered)
    this.recovered = 0
  }

  snapshot(
    quotes: readonly { readonly sym: string; readonly q: number }[],
    reset: boolean,
    receiptUs: number,
  ): void {
    this.metrics.countSnapshot(reset)
    for (const quote of quotes) {
      const tracker = this.symbol(quote.sym).sequence
      // After a reset, what was missed is gone by design: the snapshot replaces it.
      if (reset) tracker.reset()
      if (reset || tracker.highest < 0) tracker.observe(quote.q)
    }
    if (this.awaitingFirst) {
      this.awaitingFirst = false
      this.metrics.recordRecoveryUs(receiptUs - this.droppedAtUs)
    }
    if (this.replaying) this.endReplay()
  }

  dropped(): void {
    if (this.awaitingFirst) return // dropped again before recovering: the first drop time stands
    this.metrics.countReconnect()
    this.droppedAtUs = nowUs()
    this.awaitingFirst = true
  }

  reconnected(): void {
    this.reconnectedAtUs = nowUs()
    this.replaying = true
    this.recovered = 0
  }
}

/**
 * Reads `ts`, `sym` and `q` from a tick payload without JSON.parse, relying on the field order our
 * encoder writes (`{"ts":…,"sym":"…","q":…`). Returns false for anything else (another server's
 * payload, a snapshot), and the caller parses it properly.
 */
export interface TickFields {
  ts: number
  sym: string
  q: number
}

export function readTickFields(data: string, out: TickFields): boolean {
  if (!data.startsWith('{"ts":')) return false
  let i = 6
  let ts = 0
  let code = data.charCodeAt(i)
  while (code >= 48 && code <= 57) {
    ts = ts * 10 + (code - 48)
    code = data.charCodeAt(++i)
  }
  if (i === 6 || !data.startsWith(',"sym":"', i)) return false
  const symStart = i + 8
  const symEnd = data.indexOf('"', symStart)
  if (symEnd < 0 || !data.startsWith(',"q":', symEnd + 1)) return false
  i = symEnd + 6
  const qStart = i
  let q = 0
  code = data.charCodeAt(i)
  while (code >= 48 && code <= 57) {
    q = q * 10 + (code - 48)
    code = data.charCodeAt(++i)
  }
  // Digits, then the next field or the end: `"q":null` is not a sequence of 0 (JSON.parse
  // decides what it is, and readAnyTick refuses it).
  if (i === qStart || (code !== 44 && code !== 125)) return false
  out.ts = ts
  out.sym = data.slice(symStart, symEnd)
  out.q = q
  return true
}

/**
 * A tick from any server: our encoder's field order first (no JSON.parse), else JSON with a
 * numeric `ts`, a string `sym` and an integer `q`. False for anything else: an event the harness
 * cannot read, which the engines count as the error `unreadable-event`. Without `q` there is no
 * telling a gap from a duplicate, so such an event is unreadable, never a `q` of 0.
 */
export function readAnyTick(data: string, out: TickFields): boolean {
  if (readTickFields(data, out)) return true
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    return false
  }
  if (typeof parsed !== 'object' || parsed === null) return false
  const { ts, sym, q } = parsed as { ts?: unknown; sym?: unknown; q?: unknown }
  if (typeof ts !== 'number' || typeof sym !== 'string') return false
  if (typeof q !== 'number' || !Number.isInteger(q) || q < 0) return false
  out.ts = ts
  out.sym = sym
  out.q = q
  return true
}

/** The quotes of a snapshot event, or null when it cannot be read. */
export function readSnapshot(
  data: string,
): { readonly reset: boolean; readonly quotes: { sym: string; q: number }[] } | null {
  try {
    const snapshot = JSON.parse(data) as { reset?: unknown; quotes?: unknown }
    if (!Array.isArray(snapshot.quotes)) return null
    return {
      reset: snapshot.reset === true,
      quotes: snapshot.quotes as { sym: string; q: number }[],
    }
  } catch {
    return null
  }
}

/** The error kind of an event the harness cannot read (not JSON, no `ts`, `sym` or `q`). */
export const UNREADABLE_EVENT = 'unreadable-event'
