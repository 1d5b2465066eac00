import type { EventReader } from '../event-fields.js'
import type { ObserverShared } from '../event-observer.js'
import type { WireSpec } from '../targets/wire-spec.js'
import type { TransportMetrics } from '../transport-metrics.js'

/** Where and how a worker's subscribers connect. */
export interface EngineContext {
  /** The server's base URL, `http://host:port`. */
  readonly baseUrl: URL
  readonly metrics: TransportMetrics
  /**
   * Loopback source addresses to spread connections over (≈28k ephemeral ports each); the
   * subscriber with index i uses `localAddresses[i % n]`. Empty: let the OS pick.
   */
  readonly localAddresses: readonly string[]
  /** Reconnection delay when the server named none (`retry:`), before jitter. */
  readonly retryMs: number
  /** How this target's subscribers connect and read (its adapter's description). */
  readonly wire: WireSpec
  /** Reads an event's time, sequence and key where the target's payload keeps them. */
  readonly reader: EventReader
  /** Every symbol, for a target that lists them all for a subscriber of every symbol. */
  readonly universe: readonly string[]
  /** What the pool's observers share (the heads board, the spread sampler); absent: nothing. */
  readonly shared?: ObserverShared
}

/** One synthetic subscriber. It reconnects by itself until closed. */
export interface Subscriber {
  close(): void
  /**
   * Cuts the connection abruptly, as a network fault would; the subscriber reconnects by itself
   * and resumes by id (fault injection).
   */
  drop(): void
  /**
   * Events this subscriber never received: per symbol of its watch-list, from the highest
   * sequence it saw (or `baseline`'s, when it saw none) up to `heads`' (what was sent).
   */
  missing(heads: ReadonlyMap<string, number>, baseline: ReadonlyMap<string, number>): number
  /**
   * Follows `symbols` from now on, the way a real client of the target would: a WebSocket that
   * subscribes by message sends another subscribe on the same socket; a stream, a poll or a
   * WebSocket that subscribes by path reconnects with the new list at once, resuming with the
   * last id received so the symbols kept lose nothing. Not a drop: no reconnect is counted. A
   * subscriber of every symbol (started with null) has no list to change and ignores it.
   */
  changeSymbols(symbols: readonly string[]): void
}

export interface Engine {
  /**
   * Starts a subscriber on `symbols` (null: every symbol). `index` spreads source addresses.
   * Errors never throw: they are counted in the metrics by kind.
   */
  start(symbols: readonly string[] | null, index: number): Subscriber
}

/** A reconnection delay with ±50 % jitter, so a dropped crowd does not come back in lockstep. */
export function jittered(ms: number): number {
  return ms * (0.5 + Math.random())
}

export function localAddressFor(context: EngineContext, index: number): string | undefined {
  const addresses = context.localAddresses
  return addresses.length === 0 ? undefined : addresses[index % addresses.length]
}

/**
 * One subscriber's connection over time, the same for every engine: connect; whenever the current
 * connection ends, connect again after a jittered delay; until closed. The engine says how to
 * connect and how to cut a connection, and reports each end with `ended`.
 */
export interface Reconnecting<C> {
  readonly closed: boolean
  /**
   * `connection` ended. Returns true when a reconnect was scheduled (it was the current
   * connection and the subscriber is not closed): the subscriber has dropped and will resume.
   */
  ended(connection: C): boolean
  /**
   * Ends the current connection (as `close` does: reset, no TIME_WAIT) and connects again at
   * once, for a change of symbols; a reconnect already waiting for its delay goes now. Its end
   * is not a drop: `ended` will not schedule another.
   */
  replace(): void
  /** The connection in use, if any (none between a drop and its reconnect). */
  readonly current: C | undefined
  readonly subscriber: Omit<Subscriber, 'changeSymbols'>
}

export function createReconnecting<C>(options: {
  readonly connect: () => C
  /** What the subscriber saw, for `missing`; `retire` when it closes. */
  readonly observer: { missing: Subscriber['missing']; retire(): void }
  readonly cut: (connection: C) => void
  /**
   * Ends the connection for good when the subscriber closes (default: `cut`). The socket engines
   * reset it: a FIN would leave the harness's side in TIME_WAIT for 60 s, and a run of 19k
   * subscribers leaves 19k of the ≈ 28k loopback ports so held, which slows (then starves) the
   * connects of the next run: back-to-back benchmark rows measured the last run's leftovers.
   */
  readonly close?: (connection: C) => void
  readonly delayMs: () => number
}): Reconnecting<C> {
  let current: C | undefined
  let closed = false
  let timer: NodeJS.Timeout | undefined
  const open = (): void => {
    current = options.connect()
  }
  open()
  return {
    get closed() {
      return closed
    },
    get current() {
      return current
    },
    replace() {
      if (closed) return
      if (timer !== undefined) {
        clearTimeout(timer)
        timer = undefined
      }
      const old = current
      current = undefined
      // Cut first: nothing more arrives on the old connection once the new one asks to resume.
      if (old !== undefined) (options.close ?? options.cut)(old)
      open()
    },
    ended(connection) {
      if (connection !== current) return false
      current = undefined
      if (closed) return false
      timer = setTimeout(() => {
        timer = undefined
        if (!closed) open()
      }, jittered(options.delayMs()))
      return true
    },
    subscriber: {
      close() {
        if (!closed) options.observer.retire()
        closed = true
        if (timer !== undefined) clearTimeout(timer)
        if (current !== undefined) (options.close ?? options.cut)(current)
      },
      drop() {
        if (current !== undefined) options.cut(current)
      },
      missing: (heads, baseline) => options.observer.missing(heads, baseline),
    },
  }
}
