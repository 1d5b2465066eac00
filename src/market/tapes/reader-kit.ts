/**
 * What the binary readers share: joining a record split across chunks, and ending a cut tape with
 * a status per symbol instead of an exception.
 */

import type { ByteSource } from './byte-source.js'
import { type TapeProgress, type TapeStatus, TRUNCATED_REASON } from './tape-event.js'

/** The most a reader carries between chunks (a DBN metadata block is the largest thing). */
export const MAX_CARRY_BYTES = 256 * 1024 * 1024

/**
 * Bytes not yet decoded, with their offset in the (decompressed) tape. A reader decodes whole
 * records from `bytes` and calls `consume` with how far it got; the rest is carried into the next
 * chunk, copied once (records are small, so the copy is too).
 */
export interface Carry {
  /** The carried bytes followed by `chunk`. */
  append(chunk: Uint8Array): void
  readonly bytes: Uint8Array
  /** Tape offset of `bytes[0]`. */
  readonly offset: number
  consume(count: number): void
}

export function createCarry(): Carry {
  let bytes: Uint8Array = new Uint8Array(0)
  let offset = 0
  return {
    append(chunk) {
      if (bytes.length === 0) {
        bytes = chunk
        return
      }
      const joined = new Uint8Array(bytes.length + chunk.length)
      joined.set(bytes, 0)
      joined.set(chunk, bytes.length)
      bytes = joined
    },
    get bytes() {
      return bytes
    },
    get offset() {
      return offset
    },
    consume(count) {
      offset += count
      // A view would pin the whole chunk; a leftover is at most one record, so copy it.
      bytes = count >= bytes.length ? new Uint8Array(0) : bytes.slice(count)
    },
  }
}

/**
 * A reader's progress, as every reader keeps it: it counts `records` and sets `truncated`; the
 * bytes read are its sources' (a LOBSTER pair has two).
 */
export interface ProgressTally {
  readonly progress: TapeProgress
  records: number
  truncated: string | undefined
  /** Counts a record of a type the reader passes over. */
  skip(type: string): void
}

export function createProgressTally(sources: readonly ByteSource[]): ProgressTally {
  const skipped: Record<string, number> = {}
  const tally: ProgressTally = {
    progress: {
      get fileBytes() {
        return sources.reduce((sum, source) => sum + source.fileBytes, 0)
      },
      fileSize: sources.reduce((sum, source) => sum + source.fileSize, 0),
      get records() {
        return tally.records
      },
      get truncated() {
        return tally.truncated
      },
      skipped,
    },
    records: 0,
    truncated: undefined,
    skip(type) {
      skipped[type] = (skipped[type] ?? 0) + 1
    },
  }
  return tally
}

/** One `halted` status per symbol the tape produced events for, at the last time it reached. */
export function truncationStatuses(symbols: Iterable<string>, tsNs: number): TapeStatus[] {
  const out: TapeStatus[] = []
  for (const symbol of symbols) {
    out.push({ kind: 'status', symbol, tsNs, status: 'halted', reason: TRUNCATED_REASON })
  }
  return out
}

/** `YYYY-MM-DD` from a name's `MMDDYYYY` (ITCH sample files) or `YYYY-MM-DD`/`YYYYMMDD` part. */
export function dateFromName(name: string): string | undefined {
  const iso = /(?:^|[^0-9])(\d{4})-(\d{2})-(\d{2})(?:[^0-9]|$)/.exec(name)
  if (iso) return `${iso[1]}-${iso[2]}-${iso[3]}`
  const mdy = /(?:^|[^0-9])(\d{2})(\d{2})(\d{4})(?:[^0-9]|$)/.exec(name)
  if (mdy && Number(mdy[1]) >= 1 && Number(mdy[1]) <= 12 && Number(mdy[3]) >= 1990) {
    return `${mdy[3]}-${mdy[1]}-${mdy[2]}`
  }
  const ymd = /(?:^|[^0-9])((?:19|20)\d{2})(\d{2})(\d{2})(?:[^0-9]|$)/.exec(name)
  if (ymd && Number(ymd[2]) >= 1 && Number(ymd[2]) <= 12) return `${ymd[1]}-${ymd[2]}-${ymd[3]}`
  return undefined
}

const NEW_YORK_DATE = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
})
const NEW_YORK_HOUR = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  hour: 'numeric',
  hourCycle: 'h23',
})

/**
 * The New York trading day of an instant, and the epoch milliseconds of its midnight: what turns a
 * UNIX-epoch tape (DBN) into the nanoseconds-since-midnight clock ITCH and LOBSTER already use.
 * Midnight is never inside a DST change (they happen at 02:00), so midnight is 04:00 or 05:00 UTC:
 * the hour New York shows at 05:00 UTC (0 in winter, 1 in summer) says which.
 */
export function newYorkMidnight(epochMs: number): {
  readonly date: string
  readonly epochMs: number
} {
  const date = NEW_YORK_DATE.format(new Date(epochMs))
  const [year, month, day] = date.split('-').map(Number) as [number, number, number]
  const fiveUtc = Date.UTC(year, month - 1, day, 5)
  const hour = Number(NEW_YORK_HOUR.format(new Date(fiveUtc)))
  return { date, epochMs: fiveUtc - hour * 3_600_000 }
}

/**
 * Where in a tape, for an error or a truncation: the byte offset, said to be in the decompressed
 * stream when the file is compressed (that offset is what `zstd -dc FILE | xxd -s` shows).
 */
export function byteWhere(source: { readonly compression: string }, offset: number): string {
  return source.compression === 'none'
    ? `byte ${offset}`
    : `byte ${offset} of the decompressed stream`
}
