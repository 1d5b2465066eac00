import { nowUs } from '../clock.js'
import { SPREAD_EVERY, type SpreadSampler, type SpreadSymbol } from './broadcast-spread.js'
import type { HeadsLookup } from './heads-board.js'
import { createSequenceTracker, type SequenceTracker } from './sequence-tracker.js'
import type { TransportMetrics } from './transport-metrics.js'

/**
 * What one subscriber does with each event, whatever the transport: latency from the event's
 * scheduled time, gaps and duplicates from the market's per-symbol sequence `q` (global ids skip
 * on a filtered stream, `q` does not), snapshots resetting that state, reconnect recovery split
 * in three, the age of a value a conflating server replaced, and the receipts of the events the
 * broadcast spread samples.
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
  /** A snapshot (readSnapshot's): per symbol its sequence, and whether it was a conflation. */
  snapshot(snapshot: SnapshotRead, receiptUs: number): void
  /** The connection dropped (or a connect failed); the subscriber will reconnect. */
  dropped(): void
  /**
   * A connection is up: the stream or socket answered at `atUs` (every connect, the first too;
   * events after a re-connect with older scheduled times came from replay). An engine that reads
   * the answer's head and events from one socket read passes that read's time, so no event of it
   * counts as received before the answer.
   */
  connected(atUs: number): void
  /**
   * Events never received: per symbol of the watch-list (null: every symbol in `heads`), `heads`'
   * sequence minus the highest seen (or `baseline`'s, for a symbol never seen; a symbol in neither
   * counts nothing: there is no telling where this subscriber began).
   */
  missing(heads: ReadonlyMap<string, number>, baseline: ReadonlyMap<string, number>): number
  /** The subscriber closed for good (it no longer counts as a receiver of the sampled events). */
  retire(): void
  /**
   * The watch-list became `symbols` at `atUs` (the subscriber asked the server for it): a symbol
   * it dropped is no longer expected (no loss counted for it, and its events still in flight are
   * received, not errors); one it took starts from what it first sees (no gap from before it was
   * taken, no baseline from the window's start). For a list of symbols only: null stays null.
   */
  changeSymbols(symbols: readonly string[], atUs: number): void
  /**
   * The server answered the subscription now asked for (a WebSocket `subscribed`, a stream's
   * response head, a poll's answer): a change asked for since is in force, and the time from
   * asking to this answer is recorded. Nothing when no change is pending.
   */
  acknowledged(atUs: number): void
  /**
   * From a reconnect until an event scheduled after it arrives: the server may still be replaying
   * what the subscriber missed, so the live stream has not been reached yet.
   */
  readonly resuming: boolean
}

/** One symbol as one observer sees it: the per-symbol sequence `q` it checks gaps against. */
export interface ObservedSymbol {
  readonly name: string
  readonly sequence: SequenceTracker
}

/** What the observers of one pool share: the target's heads, the spread sampler. */
export interface ObserverShared {
  /** Each symbol's last sequence sent (what "caught up" means at a reconnect). */
  readonly heads: HeadsLookup | null
  readonly spread: SpreadSampler | null
}

const NOTHING_SHARED: ObserverShared = Object.freeze({ heads: null, spread: null })

export function createEventObserver(
  metrics: TransportMetrics,
  symbols: readonly string[] | null = null,
  shared: ObserverShared = NOTHING_SHARED,
): EventObserver {
  return new Observer(metrics, symbols, shared)
}

/** The per-symbol state behind an ObservedSymbol: a class, so every one has the same shape. */
class SymbolState implements ObservedSymbol {
  readonly name: string
  readonly sequence: SequenceTracker
  /** Scheduled time of the value held (the newest tick; a snapshot's `ts`), µs; -1: unknown. */
  heldUs = -1
  /** The head this reconnect must reach (every event sent before it), or -1: reached, or none. */
  catchUpTo = -1
  /** The head when the connection came back: an event past it was sent after (-1: any is). */
  newAfter = -1
  readonly spread: SpreadSymbol | null

  constructor(name: string, spread: SpreadSymbol | null) {
    this.name = name
    this.sequence = createSequenceTracker({ windowSize: 256 })
    this.spread = spread
  }
}

/**
 * A class rather than closures for the same reason as the sequence tracker: one per subscriber,
 * on every event's path. `symbol` is an arrow field, so engines may pass it on detached.
 *
 * Recovery, from a drop (the first drop of a run of them, until an event arrives), in three:
 * - reconnected: the stream or socket answered;
 * - caught up: every symbol of the watch-list reached the head it had when the connection came
 *   back (the heads board: exact when the harness publishes, the server's polled heads
 *   otherwise; unmeasured without a board), at once when nothing was missed;
 * - first new: the first event sent after the reconnect (past the board's head for its symbol
 *   when the board is exact, the harness publishing; else scheduled after the reconnect);
 * and `recovery`, as before: the first event of any kind, replayed or new (or a snapshot).
 * A drop before an episode finished starts a new one; what the old one still lacked is not
 * recorded (so the counts can fall short of `reconnects`).
 */
class Observer implements EventObserver {
  private readonly metrics: TransportMetrics
  private readonly symbols = new Map<string, SymbolState>()
  private watchList: readonly string[] | null
  /** Symbols taken by a change: they start from what they first see, never from the baseline. */
  private readonly taken = new Set<string>()
  /** When the change the server has not answered yet was asked for (µs), or -1. */
  private changeAskedUs = -1
  private readonly heads: HeadsLookup | null
  private readonly spread: SpreadSampler | null
  private opened = false
  private droppedAtUs = 0
  private reconnectedAtUs = 0
  private awaitingFirst = false
  private replaying = false
  private recovered = 0
  private needReconnected = false
  private needCaughtUp = false
  private needNew = false
  /** The first-new test uses the board's heads (else scheduled times). */
  private newByHead = false
  /** Symbols still short of their catch-up head. */
  private behind = 0
  /** Any of the above pending: the one test on the event path. */
  private recovering = false
  private retired = false

  constructor(
    metrics: TransportMetrics,
    watchList: readonly string[] | null,
    shared: ObserverShared,
  ) {
    this.metrics = metrics
    this.watchList = watchList
    this.heads = shared.heads
    this.spread = shared.spread
    this.spread?.watch(watchList)
  }

  missing(heads: ReadonlyMap<string, number>, baseline: ReadonlyMap<string, number>): number {
    let missing = 0
    for (const name of this.watchList ?? heads.keys()) {
      const head = heads.get(name)
      if (head === undefined) continue
      const seen = this.symbols.get(name)?.sequence.highest ?? -1
      const from = seen >= 0 ? seen : this.taken.has(name) ? undefined : baseline.get(name)
      if (from !== undefined && head > from) missing += head - from
    }
    return missing
  }

  readonly symbol = (name: string): ObservedSymbol => this.state(name)

  get resuming(): boolean {
    return this.replaying || this.awaitingFirst
  }

  private state(name: string): SymbolState {
    let observed = this.symbols.get(name)
    if (observed === undefined) {
      observed = new SymbolState(name, this.spread?.symbol(name) ?? null)
      this.symbols.set(name, observed)
    }
    return observed
  }

  tick(symbol: ObservedSymbol, q: number, scheduledUs: number, receiptUs: number): void {
    const metrics = this.metrics
    const state = symbol as SymbolState
    metrics.recordLatencyUs(receiptUs - scheduledUs)
    const tracker = state.sequence
    let fresh = true
    switch (tracker.observe(q)) {
      case 'gap':
        metrics.addGap(tracker.gapSize)
        state.heldUs = scheduledUs
        break
      case 'duplicate':
        metrics.countDuplicate()
        fresh = false
        break
      case 'out-of-order':
        metrics.countOutOfOrder()
        break
      case 'ok':
        state.heldUs = scheduledUs
        break
    }
    if (fresh && state.spread !== null && q % SPREAD_EVERY === 0)
      this.spread?.receipt(
        state.spread,
        q,
        receiptUs,
        !(this.replaying && scheduledUs < this.reconnectedAtUs),
      )
    if (this.recovering) this.afterReconnect(state, q, scheduledUs, receiptUs)
  }

  private afterReconnect(
    state: SymbolState,
    q: number,
    scheduledUs: number,
    receiptUs: number,
  ): void {
    if (this.awaitingFirst) {
      this.awaitingFirst = false
      this.metrics.recordRecoveryUs(receiptUs - this.droppedAtUs)
    }
    if (this.replaying) {
      if (scheduledUs < this.reconnectedAtUs) this.recovered++
      else this.endReplay()
    }
    if (
      this.needNew &&
      (this.newByHead ? q > state.newAfter : scheduledUs >= this.reconnectedAtUs)
    ) {
      this.needNew = false
      this.metrics.recordFirstNewUs(receiptUs - this.droppedAtUs)
    }
    if (this.behind > 0) this.reached(state, receiptUs)
    this.recovering = this.awaitingFirst || this.replaying || this.needNew || this.behind > 0
  }

  /** `state`'s sequence may have reached its catch-up head. */
  private reached(state: SymbolState, receiptUs: number): void {
    if (state.catchUpTo < 0 || state.sequence.highest < state.catchUpTo) return
    state.catchUpTo = -1
    if (--this.behind > 0) return
    this.needCaughtUp = false
    this.metrics.recordCaughtUpUs(receiptUs - this.droppedAtUs)
  }

  private endReplay(): void {
    this.replaying = false
    this.metrics.addRecoveredByReplay(this.recovered)
    this.recovered = 0
  }

  snapshot(snapshot: SnapshotRead, receiptUs: number): void {
    const { quotes, reset, conflated } = snapshot
    this.metrics.countSnapshot(reset)
    for (const quote of quotes) {
      const state = this.state(quote.sym)
      const tracker = state.sequence
      const before = tracker.highest
      // A conflating server replaced what this subscriber held with a newer value: how old the
      // held one was by then (its scheduled time to this receipt).
      if (conflated && quote.q > before && state.heldUs >= 0)
        this.metrics.recordStalenessUs(receiptUs - state.heldUs)
      // After a reset, what was missed is gone by design: the snapshot replaces it.
      if (reset) tracker.reset()
      if (reset || tracker.highest < 0) tracker.observe(quote.q)
      // The snapshot's values were current at its `ts` at the latest: their age is at least that.
      if (quote.q > before) state.heldUs = snapshot.tsUs
      if (this.behind > 0) this.reached(state, receiptUs)
    }
    if (this.awaitingFirst) {
      this.awaitingFirst = false
      this.metrics.recordRecoveryUs(receiptUs - this.droppedAtUs)
    }
    if (this.replaying) this.endReplay()
    this.recovering = this.awaitingFirst || this.replaying || this.needNew || this.behind > 0
  }

  dropped(): void {
    if (this.awaitingFirst) return // dropped again before recovering: the first drop time stands
    this.metrics.countReconnect()
    this.droppedAtUs = nowUs()
    this.awaitingFirst = true
    this.needReconnected = true
    this.needCaughtUp = true
    this.needNew = true
    // What an earlier episode still lacked is abandoned with it.
    if (this.behind > 0) for (const state of this.symbols.values()) state.catchUpTo = -1
    this.behind = 0
    this.recovering = true
  }

  connected(atUs: number): void {
    const now = atUs
    // A connection made for a change (not after a drop) replays only what the subscriber's own
    // cut left in flight: no recovery episode, and its replay is no fault's recovery.
    const forChange = this.changeAskedUs >= 0 && !this.needReconnected
    if (this.opened && !forChange) {
      this.reconnectedAtUs = now
      this.replaying = true
      this.recovered = 0
    }
    this.opened = true
    if (this.needReconnected) {
      this.needReconnected = false
      this.reconnectedAtUs = now
      this.metrics.recordReconnectedUs(now - this.droppedAtUs)
    }
    if (this.needCaughtUp || this.needNew) this.markHeads(now)
    this.recovering = this.awaitingFirst || this.replaying || this.needNew || this.behind > 0
  }

  /**
   * At a reconnect, per symbol of the watch-list, the head it must reach to be caught up and past
   * which an event is new. Costs a pass over the watch-list (the universe, for a subscriber of
   * every symbol) per reconnect, none per event.
   */
  private markHeads(nowUs: number): void {
    const lookup = this.heads
    const heads = lookup?.heads() ?? null
    // A polled head may be 100 ms old: events sent in that time would pass for new. The
    // server's scheduled times (it stamps them as it makes them) say it better then.
    if (lookup === null || heads === null) {
      this.newByHead = false
      this.needCaughtUp = false // unmeasured: nothing says what was sent
      return
    }
    this.newByHead = lookup.exact()
    if (this.behind > 0) for (const state of this.symbols.values()) state.catchUpTo = -1
    this.behind = 0
    for (const name of this.watchList ?? lookup.symbols) {
      const index = lookup.indexOf(name)
      const head = index < 0 ? -1 : Atomics.load(heads, index)
      const state = this.state(name)
      state.newAfter = head
      if (!this.needCaughtUp || head < 0 || state.sequence.highest >= head) continue
      state.catchUpTo = head
      this.behind++
    }
    if (this.needCaughtUp && this.behind === 0) {
      // Nothing was sent that it lacks: caught up the moment it answered.
      this.needCaughtUp = false
      this.metrics.recordCaughtUpUs(nowUs - this.droppedAtUs)
    }
  }

  retire(): void {
    if (this.retired) return
    this.retired = true
    this.spread?.unwatch(this.watchList)
  }

  changeSymbols(symbols: readonly string[], atUs: number): void {
    const before = this.watchList
    if (before === null) return
    const now = new Set(symbols)
    const held = new Set(before)
    const dropped = before.filter((name) => !now.has(name))
    const added = symbols.filter((name) => !held.has(name))
    for (const name of dropped) {
      const state = this.symbols.get(name)
      // A recovery waiting on a symbol no longer held waits on it no more.
      if (state !== undefined && state.catchUpTo >= 0) {
        state.catchUpTo = -1
        if (--this.behind === 0 && this.needCaughtUp) {
          this.needCaughtUp = false
          this.metrics.recordCaughtUpUs(atUs - this.droppedAtUs)
        }
      }
    }
    for (const name of added) {
      // Held before and dropped since: what came then says nothing of where it starts now.
      const state = this.symbols.get(name)
      if (state !== undefined) {
        state.sequence.reset()
        state.heldUs = -1
        state.catchUpTo = -1
      }
      this.taken.add(name)
    }
    this.spread?.unwatch(dropped)
    this.spread?.watch(added)
    this.watchList = symbols
    if (this.changeAskedUs < 0) this.changeAskedUs = atUs
    this.metrics.countWatchListChange()
    this.recovering = this.awaitingFirst || this.replaying || this.needNew || this.behind > 0
  }

  acknowledged(atUs: number): void {
    if (this.changeAskedUs < 0) return
    this.metrics.recordWatchListChangeUs(atUs - this.changeAskedUs, this.changeAskedUs)
    this.changeAskedUs = -1
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

/** A snapshot event as the observer takes it. */
export interface SnapshotRead {
  readonly reset: boolean
  readonly quotes: readonly { readonly sym: string; readonly q: number }[]
  /**
   * A slow consumer's conflation (tickstorm's `replaces`: the ids it stands in for), not a
   * reconnect's reset or a subscription's opening state.
   */
  readonly conflated: boolean
  /** When the server made it (`ts`, epoch µs), or -1 when it does not say. */
  readonly tsUs: number
}

/** The quotes of a snapshot payload (parsed), or null when it cannot be read. */
export function snapshotOf(payload: unknown): SnapshotRead | null {
  if (typeof payload !== 'object' || payload === null) return null
  const snapshot = payload as {
    reset?: unknown
    quotes?: unknown
    replaces?: unknown
    ts?: unknown
  }
  if (!Array.isArray(snapshot.quotes)) return null
  return {
    reset: snapshot.reset === true,
    quotes: snapshot.quotes as { sym: string; q: number }[],
    conflated: typeof snapshot.replaces === 'object' && snapshot.replaces !== null,
    tsUs: typeof snapshot.ts === 'number' && Number.isFinite(snapshot.ts) ? snapshot.ts : -1,
  }
}

/** The quotes of a snapshot event, or null when it cannot be read. */
export function readSnapshot(data: string): SnapshotRead | null {
  try {
    return snapshotOf(JSON.parse(data))
  } catch {
    return null
  }
}

/** The error kind of an event the harness cannot read (not JSON, no `ts`, `sym` or `q`). */
export const UNREADABLE_EVENT = 'unreadable-event'
