/**
 * A recorded tape behind the model's `Market` interface, so the feed that paces the model paces a
 * replay unchanged: the same global ids, per-symbol `q`, replay ring, snapshots and conflation, and
 * the same scheduled time, `runStart + (tsNs − tapeStart) / speed`, from which latency is measured.
 * A server that cannot keep up with the tape's real bursts shows it as latency, as with the model.
 *
 * The feed asks for ticks synchronously (`advanceTo`) while a tape is read asynchronously, so the
 * reader runs ahead of the replay into a bounded buffer, refilled whenever the replay has taken
 * half of it. If the replay catches up with the reader (a speed the disk or the decoder cannot
 * sustain), the clock stops at the last event read and the late events go out once read, at their
 * own scheduled times: late, which is what the latency figures then say.
 *
 * The universe must be fixed before the server starts (subscriptions, the fan-out and the event
 * log are sized by it): the symbols given, or every symbol of the tape, found by reading it once.
 * The tape's end is said with one `halted` status per symbol, reason `tape-ended`; the server goes
 * on serving (heartbeats, snapshots, resume) with no further ticks.
 */

import { ERROR_CODES, TickstormError } from '../../errors.js'
import { roundLotFor } from '../instruments.js'
import type { Instrument, Market, QuoteTick, Tick } from '../types.js'
import { openTape } from './open-tape.js'
import type { TapeEvent, TapeFormat, TapeQuote, TapeReader, TapeTimeNs } from './tape-event.js'

/** The reason of the status every symbol gets when the replay reaches the tape's end. */
export const TAPE_ENDED_REASON = 'tape-ended'

/** Events read ahead of the replay, at most (about 100 bytes each: about 10 MB). */
export const DEFAULT_READ_AHEAD_EVENTS = 100_000

/** The most symbols `describe()` lists (/healthz); the universe's size is said beside them. */
export const DESCRIBED_SYMBOLS = 32

export interface TapeReplayOptions {
  readonly path: string
  /** The tape's format; by default from its name or first bytes (open-tape.ts). */
  readonly format?: TapeFormat
  /** Tape time (ns since midnight) the replay starts at; earlier records are skipped. */
  readonly startNs?: TapeTimeNs
  /**
   * The universe, in this order; by default every symbol of the tape, busiest first (one extra
   * read of the tape before the replay).
   */
  readonly symbols?: readonly string[]
  readonly readAheadEvents?: number
  /** Bytes per read (tests use tiny ones to exercise the read-ahead). */
  readonly chunkBytes?: number
  /**
   * The speed the feed paces the replay at, only to be said by `describe()` (/healthz): the
   * market hands out events by tape time and knows nothing of wall-clock pacing.
   */
  readonly speed?: number
}

export interface TapeMarket extends Market {
  readonly path: string
  readonly format: TapeFormat
  /** Tape time of the replay's first instant (the given start or the first event). */
  readonly startNs: TapeTimeNs
  /** Set once every event has been handed out and the `tape-ended` statuses sent. */
  readonly ended: boolean
  /** For /healthz: where the replay is. */
  describe(): Readonly<Record<string, unknown>>
  /** Called once if reading the tape fails mid-replay (a file changed or vanished). */
  onFailure(listener: (error: TickstormError) => void): void
  close(): Promise<void>
}

interface Universe {
  readonly symbols: readonly string[]
  /** The first quote of each symbol, if any: the reference price /v1/symbols shows. */
  readonly firstQuotes: ReadonlyMap<string, TapeQuote>
}

/**
 * Symbols go on the wire unescaped (tick-json.ts) and in comma lists (`?symbols=`): a symbol with a
 * quote, a backslash, a comma, a space or a control character is left out of the universe.
 */
const PLAYABLE_SYMBOL = /^[!#-+\--[\]-~]+$/

/** Every symbol the tape has events for, and each one's first quote: one streaming read. */
async function scanUniverse(options: TapeReplayOptions): Promise<Universe> {
  const reader = await openTape(options.path, readerOptions(options))
  const firstQuotes = new Map<string, TapeQuote>()
  const counts = new Map<string, number>()
  for await (const batch of reader) {
    for (const event of batch) {
      if (event.tsNs < (options.startNs ?? 0)) continue
      counts.set(event.symbol, (counts.get(event.symbol) ?? 0) + 1)
      if (event.kind === 'quote' && !firstQuotes.has(event.symbol)) {
        firstQuotes.set(event.symbol, event)
      }
    }
  }
  // Busiest first, as the model's universe is by activity rank (a zipf watch-list favours them).
  const symbols = [...counts]
    .filter(([symbol]) => PLAYABLE_SYMBOL.test(symbol))
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .map(([symbol]) => symbol)
  return { symbols, firstQuotes }
}

function readerOptions(options: TapeReplayOptions) {
  return {
    ...(options.format === undefined ? {} : { format: options.format }),
    ...(options.symbols === undefined ? {} : { symbols: options.symbols }),
    ...(options.chunkBytes === undefined ? {} : { chunkBytes: options.chunkBytes }),
  }
}

/** The static data the server shows per symbol, from a reference price (0 when none is known). */
function instrumentOf(index: number, symbol: string, priceUnits: number): Instrument {
  return {
    index,
    symbol,
    tickUnits: priceUnits >= 10_000 || priceUnits === 0 ? 100 : 1,
    lotSize: priceUnits === 0 ? 100 : roundLotFor(priceUnits),
    startPrice: priceUnits,
    volatility: 0,
    beta: 0,
  }
}

/** The mid of a quote, or its one side, or 0 for an empty book. */
function referencePrice(quote: TapeQuote | undefined): number {
  if (quote === undefined) return 0
  if (quote.bid > 0 && quote.ask > 0) return Math.round((quote.bid + quote.ask) / 2)
  return quote.bid > 0 ? quote.bid : quote.ask
}

/**
 * Opens a tape for replay: fixes the universe (reading the tape once unless `symbols` is given),
 * then reads ahead up to the read-ahead bound, so the first frames do not wait for the disk.
 * A tape that is not valid fails here, with `TS_ERR_INVALID_TAPE`.
 */
export async function openTapeMarket(options: TapeReplayOptions): Promise<TapeMarket> {
  const given = options.symbols !== undefined && options.symbols.length > 0
  const universe: Universe = given
    ? {
        symbols: [...new Set(options.symbols)].filter((symbol) => PLAYABLE_SYMBOL.test(symbol)),
        firstQuotes: new Map(),
      }
    : await scanUniverse(options)
  if (universe.symbols.length === 0) {
    throw new TickstormError(
      ERROR_CODES.INVALID_TAPE,
      `${options.path}: no events${given ? ` for the symbols ${universe.symbols.join(', ')}` : ''}${options.startNs === undefined ? '' : ' at or after the start time'}: nothing to replay`,
      { details: { path: options.path } },
    )
  }
  const reader = await openTape(options.path, {
    ...readerOptions(options),
    symbols: universe.symbols,
  })
  return createTapeMarket(reader, universe, options)
}

async function createTapeMarket(
  reader: TapeReader,
  universe: Universe,
  options: TapeReplayOptions,
): Promise<TapeMarket> {
  const readAhead = options.readAheadEvents ?? DEFAULT_READ_AHEAD_EVENTS
  const indexOf = new Map(universe.symbols.map((symbol, i) => [symbol, i]))
  const count = universe.symbols.length
  const iterator = reader[Symbol.asyncIterator]()
  const seq = new Float64Array(count)
  const failureListeners: ((error: TickstormError) => void)[] = []

  // The read-ahead: batches as the reader made them, consumed from (head, at).
  const batches: (readonly TapeEvent[])[] = []
  let head = 0
  let at = 0
  let buffered = 0
  let readDone = false
  let closed = false
  let failure: TickstormError | undefined
  let reading: Promise<void> | undefined
  let skipped = 0
  /** The last quote seen before the start: the book the replay opens with. */
  const openingQuotes = new Map<string, TapeQuote>()
  let startNs = options.startNs

  const keep = (batch: readonly TapeEvent[]): void => {
    let events = batch
    if (startNs === undefined && batch.length > 0) startNs = batch[0]!.tsNs
    if (startNs !== undefined && batch.length > 0 && batch[0]!.tsNs < startNs) {
      const from = batch.findIndex((event) => event.tsNs >= startNs!)
      const early = from < 0 ? batch : batch.slice(0, from)
      for (const event of early) if (event.kind === 'quote') openingQuotes.set(event.symbol, event)
      skipped += early.length
      events = from < 0 ? [] : batch.slice(from)
    }
    if (events.length === 0) return
    batches.push(events)
    buffered += events.length
  }

  const fill = async (): Promise<void> => {
    while (!readDone && !closed && buffered < readAhead) {
      const next = await iterator.next()
      if (next.done) readDone = true
      else keep(next.value)
    }
  }

  const fail = (error: unknown): void => {
    readDone = true
    failure =
      error instanceof TickstormError
        ? error
        : new TickstormError(
            ERROR_CODES.INVALID_TAPE,
            `${reader.path}: reading the tape failed: ${(error as Error).message}`,
            { cause: error },
          )
    for (const listener of failureListeners) listener(failure)
  }

  const refill = (): void => {
    if (reading !== undefined || readDone || closed || buffered >= readAhead / 2) return
    reading = fill()
      .catch(fail)
      .finally(() => {
        reading = undefined
      })
  }

  // Fill before the first frame; a bad tape fails the open, not the replay.
  await fill()
  if (buffered === 0 && readDone) {
    await iterator.return?.()
    throw new TickstormError(
      ERROR_CODES.INVALID_TAPE,
      `${reader.path}: no events for the symbols ${universe.symbols.join(', ')}${options.startNs === undefined ? '' : ' at or after the start time'}: nothing to replay`,
      { details: { path: reader.path } },
    )
  }
  const firstNs = startNs ?? 0
  const startSimTimeUs = Math.floor(firstNs / 1000)
  const instruments = universe.symbols.map((symbol, i) =>
    instrumentOf(
      i,
      symbol,
      referencePrice(openingQuotes.get(symbol) ?? universe.firstQuotes.get(symbol)),
    ),
  )
  const latest: QuoteTick[] = universe.symbols.map((symbol, i) => {
    const quote = openingQuotes.get(symbol)
    return {
      kind: 'quote',
      symbol: i,
      seq: 0,
      simTimeUs: startSimTimeUs,
      bid: quote?.bid ?? 0,
      bidSize: quote?.bidSize ?? 0,
      ask: quote?.ask ?? 0,
      askSize: quote?.askSize ?? 0,
    }
  })

  let simTimeUs = startSimTimeUs
  /** Tape time never goes back: an out-of-order event plays at the time already reached. */
  let lastUs = startSimTimeUs
  let played = 0
  let ended = false

  const tickOf = (event: TapeEvent, symbol: number, tUs: number): Tick => {
    seq[symbol] = seq[symbol]! + 1
    const q = seq[symbol]!
    switch (event.kind) {
      case 'quote': {
        const quote: QuoteTick = {
          kind: 'quote',
          symbol,
          seq: q,
          simTimeUs: tUs,
          bid: event.bid,
          bidSize: event.bidSize,
          ask: event.ask,
          askSize: event.askSize,
        }
        latest[symbol] = quote
        return quote
      }
      case 'trade':
        return {
          kind: 'trade',
          symbol,
          seq: q,
          simTimeUs: tUs,
          price: event.price,
          size: event.size,
          conditions: event.conditions,
        }
      case 'status':
        return {
          kind: 'status',
          symbol,
          seq: q,
          simTimeUs: tUs,
          status: event.status,
          reason: event.reason,
        }
    }
  }

  return {
    path: reader.path,
    format: reader.header.format,
    startNs: firstNs,
    seed: 0,
    preset: 'normal',
    instruments,
    startSimTimeUs,
    get simTimeUs() {
      return simTimeUs
    },
    get ended() {
      return ended
    },

    advanceTo(untilSimTimeUs: number, out: Tick[]): void {
      if (!Number.isFinite(untilSimTimeUs)) {
        throw new RangeError(`advanceTo needs a finite time, got ${untilSimTimeUs}`)
      }
      const until = Math.floor(untilSimTimeUs)
      if (until <= simTimeUs || ended) {
        if (until > simTimeUs) simTimeUs = until
        return
      }
      let reached = false
      while (head < batches.length) {
        const batch = batches[head]!
        const event = batch[at]!
        const tUs = Math.max(lastUs, Math.floor(event.tsNs / 1000))
        if (tUs > until) {
          reached = true
          break
        }
        lastUs = tUs
        const symbol = indexOf.get(event.symbol)
        if (symbol !== undefined) out.push(tickOf(event, symbol, tUs))
        played++
        buffered--
        if (++at === batch.length) {
          batches[head] = []
          head++
          at = 0
        }
      }
      if (head === batches.length) {
        batches.length = 0
        head = 0
      } else if (head > 1024) {
        batches.splice(0, head)
        head = 0
      }
      if (!reached && readDone && buffered === 0 && reading === undefined) {
        // The end: every symbol hears it once, at the tape's last time.
        for (let i = 0; i < count; i++) {
          seq[i] = seq[i]! + 1
          out.push({
            kind: 'status',
            symbol: i,
            seq: seq[i]!,
            simTimeUs: lastUs,
            status: 'halted',
            reason: TAPE_ENDED_REASON,
          })
        }
        ended = true
        reached = true
      }
      // Without the next event in hand the clock cannot pass the last one read: a later read may
      // still hold events before `until`.
      simTimeUs = reached ? until : Math.max(simTimeUs, lastUs)
      refill()
    },

    latestQuote(symbol: number): QuoteTick {
      const quote = latest[symbol]
      if (quote === undefined) {
        throw new RangeError(`no instrument ${symbol}: the tape's universe has ${count}`)
      }
      return quote
    },

    describe() {
      return {
        kind: 'tape',
        path: reader.path,
        format: reader.header.format,
        ...(options.speed === undefined ? {} : { speed: options.speed }),
        startNs: firstNs,
        symbols: universe.symbols.slice(0, DESCRIBED_SYMBOLS),
        symbolCount: count,
        played,
        skipped,
        readAhead: buffered,
        fileBytes: reader.progress.fileBytes,
        fileSize: reader.progress.fileSize,
        ended,
        ...(reader.progress.truncated === undefined
          ? {}
          : { truncated: reader.progress.truncated }),
        ...(failure === undefined ? {} : { error: failure.message }),
      }
    },

    onFailure(listener) {
      if (failure !== undefined) listener(failure)
      else failureListeners.push(listener)
    },

    async close() {
      closed = true
      await reading
      await iterator.return?.()
    },
  }
}
