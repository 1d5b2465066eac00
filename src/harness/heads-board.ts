/**
 * Each symbol's head (the last sequence `q` sent) where every worker thread can read it at any
 * moment: an `Int32Array` over a `SharedArrayBuffer`, one slot per symbol of the universe (its
 * index there), -1 while unknown. The target writes it (the harness's publisher as it sends, or
 * a poll of the server's own heads); a subscriber reads its symbols' slots at a reconnect, to
 * know what "caught up" means for that reconnect (engines/engine.ts, event-observer.ts).
 *
 * The pools find the board by the target's base URL over a `BroadcastChannel` (it reaches every
 * thread of the process, the one that asks included), so no option has to be threaded from the
 * runner to the worker threads: a pool asks once when its engine is made, the target answers
 * while it runs. A target that cannot say its heads never answers, and its subscribers leave
 * "caught up" unmeasured.
 */

import { BroadcastChannel } from 'node:worker_threads'

const CHANNEL = 'tickstorm:heads-board'
/** How long an engine waits for an answer before it stops listening (a target without heads). */
const ASK_TIMEOUT_MS = 15_000
/**
 * How often a target that cannot tell the harness as it sends (a server making its own events)
 * is asked for its heads: a reconnect reads heads at most this old, so "caught up" may be
 * declared up to this much early (by the events sent in it, which arrive right after anyway).
 */
export const HEADS_POLL_MS = 100

interface Ask {
  readonly ask: string
}
interface Offer {
  readonly offer: string
  readonly buffer: SharedArrayBuffer
  /** Written as sent (the harness's publisher), not polled: see HeadsLookup.exact. */
  readonly exact: boolean
}

/** The target's side: write heads, answer the pools' asks. */
export interface HeadsBoardWriter {
  readonly heads: Int32Array
  /** Sets a symbol's head (raises only: the publisher's sends come in order, so this is cheap). */
  set(symbol: string, q: number): void
  /**
   * Stores a symbol's head as read from the server, lower or not: a poll's answers come one after
   * another, and a restarted server's sequences begin again.
   */
  store(symbol: string, q: number): void
  /** Starts answering the pools (once the heads are known to be real). */
  open(): void
  close(): void
}

/** `exact`: the heads are written as each event is sent (the harness publishes), not polled. */
export function createHeadsBoardWriter(
  baseUrl: string,
  universe: readonly string[],
  exact: boolean,
): HeadsBoardWriter {
  const buffer = new SharedArrayBuffer(Math.max(1, universe.length) * 4)
  const heads = new Int32Array(buffer).fill(-1)
  const indexOf = new Map(universe.map((symbol, index) => [symbol, index]))
  let channel: BroadcastChannel | undefined
  const offer = (): void => channel?.postMessage({ offer: baseUrl, buffer, exact } satisfies Offer)
  return {
    heads,
    set(symbol, q) {
      const index = indexOf.get(symbol)
      if (index === undefined || q > 2_147_483_647) return
      if (Atomics.load(heads, index) < q) Atomics.store(heads, index, q)
    },
    store(symbol, q) {
      const index = indexOf.get(symbol)
      if (index === undefined || q > 2_147_483_647) return
      Atomics.store(heads, index, q)
    },
    open() {
      if (channel !== undefined) return
      channel = new BroadcastChannel(CHANNEL)
      channel.unref()
      channel.onmessage = (message) => {
        if ((message as { data?: Partial<Ask> }).data?.ask === baseUrl) offer()
      }
      // Pools already asking (they started before the heads were known) get it now.
      offer()
    },
    close() {
      channel?.close()
      channel = undefined
    },
  }
}

/** An engine's side: the heads once the target answered, else null (not known, or not yet). */
export interface HeadsLookup {
  heads(): Int32Array | null
  /** The universe index of a symbol, or -1. */
  indexOf(symbol: string): number
  /** The universe, in board order (a subscriber of every symbol catches up on all of them). */
  readonly symbols: readonly string[]
  /**
   * The heads are exact (written as sent), not a poll up to HEADS_POLL_MS old: only exact heads
   * tell an event sent after a reconnect from one sent just before it.
   */
  exact(): boolean
}

/** What a pool sees when there is no board to find (no universe): nothing is ever known. */
export const NO_HEADS: HeadsLookup = Object.freeze({
  heads: () => null,
  indexOf: () => -1,
  symbols: [],
  exact: () => false,
})

export function findHeadsBoard(baseUrl: string, universe: readonly string[]): HeadsLookup {
  const indexes = new Map(universe.map((symbol, index) => [symbol, index]))
  let heads: Int32Array | null = null
  let exact = false
  const channel = new BroadcastChannel(CHANNEL)
  channel.unref()
  const timer = setTimeout(() => channel.close(), ASK_TIMEOUT_MS)
  timer.unref()
  channel.onmessage = (message) => {
    const data = (message as { data?: Partial<Offer> }).data
    if (data?.offer !== baseUrl || !(data.buffer instanceof SharedArrayBuffer)) return
    // A board of another universe (another target at this URL) is not this one's.
    if (data.buffer.byteLength !== Math.max(1, universe.length) * 4) return
    heads = new Int32Array(data.buffer)
    exact = data.exact === true
    clearTimeout(timer)
    channel.close()
  }
  if (universe.length > 0) channel.postMessage({ ask: baseUrl } satisfies Ask)
  else {
    clearTimeout(timer)
    channel.close()
  }
  return {
    heads: () => heads,
    indexOf: (symbol) => indexes.get(symbol) ?? -1,
    symbols: universe,
    exact: () => exact,
  }
}
