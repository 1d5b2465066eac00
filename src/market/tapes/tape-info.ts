/**
 * What a replay of a tape will ask of the server, found by reading the tape once, streaming:
 * records and events by kind, the busiest symbols, the time span, and the peak event rate in
 * sliding 1-s and 1-ms windows. The peaks are exact, not bucketed: the most events whose times lie
 * in any half-open window [t, t + W), which a fixed grid of buckets can halve (a burst straddling
 * a bucket edge). The cost is a queue of the event times of the last second: bounded by the tape's
 * own peak rate (8 bytes an event, 16 MB at 2 million events a second).
 */

import type { TapeEvent, TapeFormat, TapeReader } from './tape-event.js'

export const DEFAULT_TOP_SYMBOLS = 10
const NS_PER_SEC = 1e9
const NS_PER_MS = 1e6

export interface SymbolCount {
  readonly symbol: string
  readonly events: number
  readonly quotes: number
  readonly trades: number
  readonly statuses: number
}

export interface PeakWindow {
  readonly windowNs: number
  /** Most events in one window of that length. */
  readonly events: number
  /** The same as a rate: events × (1 s / window). */
  readonly perSec: number
  /** Time of the first event of the (first) busiest window; null for an empty tape. */
  readonly atNs: number | null
}

export interface TapeInfo {
  readonly path: string
  readonly format: TapeFormat
  readonly date: string | null
  readonly fileBytes: number
  readonly records: number
  /** Records of types a replay does not play, by type (`imbalance`: 3), most first. */
  readonly skipped: Readonly<Record<string, number>>
  readonly events: {
    readonly total: number
    readonly quotes: number
    readonly trades: number
    readonly statuses: number
  }
  readonly symbolCount: number
  /** The busiest symbols by events, most first (ties by name). */
  readonly topSymbols: readonly SymbolCount[]
  /** Tape time (ns since the day's midnight, New York) of the first and last event. */
  readonly firstNs: number | null
  readonly lastNs: number | null
  readonly spanNs: number
  /** Events over the span, per second (0 for a span of 0). */
  readonly meanPerSec: number
  readonly peak1s: PeakWindow
  readonly peak1ms: PeakWindow
  /** Events whose time was before the one before them (counted at the earlier time). */
  readonly outOfOrder: number
  /** Why the tape ended early, or null when it ended where it should. */
  readonly truncated: string | null
}

export interface TapeInfoOptions {
  readonly top?: number
  /** Called after each batch, for a progress line. */
  readonly onBatch?: (reader: TapeReader) => void
}

/**
 * The most events in any window of `windowNs`, as event times arrive in order. Times within the
 * window wait in a queue that grows as needed and is compacted when its dead head is half of it.
 */
export function createPeakWindow(windowNs: number) {
  let times = new Float64Array(1024)
  let head = 0
  let tail = 0
  let best = 0
  let bestAt: number | null = null
  return {
    add(tsNs: number): void {
      while (head < tail && tsNs - times[head]! >= windowNs) head++
      if (tail === times.length) {
        if (head > 0 && head >= times.length / 2) {
          times.copyWithin(0, head, tail)
        } else {
          const grown = new Float64Array(times.length * 2)
          grown.set(times.subarray(head, tail))
          times = grown
        }
        tail -= head
        head = 0
      }
      times[tail++] = tsNs
      if (tail - head > best) {
        best = tail - head
        bestAt = times[head]!
      }
    },
    result(): PeakWindow {
      return {
        windowNs,
        events: best,
        perSec: Math.round((best * NS_PER_SEC) / windowNs),
        atNs: bestAt,
      }
    },
  }
}

/** Reads the whole tape; never holds more than a batch and the last second of times. */
export async function tapeInfo(
  reader: TapeReader,
  options: TapeInfoOptions = {},
): Promise<TapeInfo> {
  const top = options.top ?? DEFAULT_TOP_SYMBOLS
  const bySymbol = new Map<string, { quotes: number; trades: number; statuses: number }>()
  const second = createPeakWindow(NS_PER_SEC)
  const milli = createPeakWindow(NS_PER_MS)
  let quotes = 0
  let trades = 0
  let statuses = 0
  let firstNs: number | null = null
  let lastNs: number | null = null
  let outOfOrder = 0

  const count = (event: TapeEvent): void => {
    let entry = bySymbol.get(event.symbol)
    if (entry === undefined) {
      entry = { quotes: 0, trades: 0, statuses: 0 }
      bySymbol.set(event.symbol, entry)
    }
    if (event.kind === 'quote') {
      quotes++
      entry.quotes++
    } else if (event.kind === 'trade') {
      trades++
      entry.trades++
    } else {
      statuses++
      entry.statuses++
    }
    let tsNs = event.tsNs
    if (lastNs !== null && tsNs < lastNs) {
      // A replay plays it at the time it has reached, so that is where it counts.
      outOfOrder++
      tsNs = lastNs
    }
    firstNs ??= tsNs
    lastNs = tsNs
    second.add(tsNs)
    milli.add(tsNs)
  }

  for await (const batch of reader) {
    for (const event of batch) count(event)
    options.onBatch?.(reader)
  }

  const total = quotes + trades + statuses
  const spanNs = firstNs === null || lastNs === null ? 0 : lastNs - firstNs
  const topSymbols = [...bySymbol]
    .map(([symbol, c]) => ({ symbol, events: c.quotes + c.trades + c.statuses, ...c }))
    .sort((a, b) => b.events - a.events || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0))
    .slice(0, top)
  return {
    path: reader.path,
    format: reader.header.format,
    date: reader.header.date ?? null,
    fileBytes: reader.progress.fileBytes,
    records: reader.progress.records,
    skipped: Object.fromEntries(
      Object.entries(reader.progress.skipped).sort(
        ([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0),
      ),
    ),
    events: { total, quotes, trades, statuses },
    symbolCount: bySymbol.size,
    topSymbols,
    firstNs,
    lastNs,
    spanNs,
    meanPerSec: spanNs === 0 ? 0 : Math.round((total * NS_PER_SEC) / spanNs),
    peak1s: second.result(),
    peak1ms: milli.result(),
    outOfOrder,
    truncated: reader.progress.truncated ?? null,
  }
}

/** Nanoseconds since midnight as `HH:MM:SS.uuuuuu` (microseconds: enough to tell bursts apart). */
export function formatTapeTime(tsNs: number): string {
  const us = Math.floor(tsNs / 1000)
  const seconds = Math.floor(us / 1e6)
  const hh = Math.floor(seconds / 3600)
  const mm = Math.floor((seconds % 3600) / 60)
  const ss = seconds % 60
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0')
  return `${pad(hh)}:${pad(mm)}:${pad(ss)}.${pad(us % 1e6, 6)}`
}

function formatSpan(ns: number): string {
  const seconds = ns / NS_PER_SEC
  if (seconds < 1) return `${(ns / NS_PER_MS).toFixed(3)} ms`
  if (seconds < 60) return `${seconds.toFixed(3)} s`
  // Rounded to tenths before splitting, so 119.99 s is 2m 0.0s, not 1m 60.0s.
  const tenths = Math.round(seconds * 10)
  const h = Math.floor(tenths / 36_000)
  const m = Math.floor((tenths % 36_000) / 600)
  const s = ((tenths % 600) / 10).toFixed(1)
  return h > 0 ? `${h}h ${m}m ${s}s` : `${m}m ${s}s`
}

const n = (value: number): string => value.toLocaleString('en-US')

/** The text `tape info` prints. */
export function formatTapeInfo(info: TapeInfo): string {
  const lines = [
    `tape       ${info.path}`,
    `format     ${info.format}${info.date === null ? '' : `, ${info.date}`}, ${n(info.fileBytes)} bytes read`,
    `records    ${n(info.records)}`,
  ]
  const skipped = Object.entries(info.skipped)
  if (skipped.length > 0) {
    const counts = skipped.map(
      ([type, count]) => `${n(count)} ${type} record${count === 1 ? '' : 's'}`,
    )
    lines.push(`skipped    ${counts.join(', ')} (not played)`)
  }
  lines.push(
    `events     ${n(info.events.total)}: ${n(info.events.quotes)} quotes, ${n(info.events.trades)} trades, ${n(info.events.statuses)} status`,
  )
  if (info.firstNs !== null && info.lastNs !== null) {
    lines.push(
      `time span  ${formatTapeTime(info.firstNs)} – ${formatTapeTime(info.lastNs)} (${formatSpan(info.spanNs)}), mean ${n(info.meanPerSec)} events/s`,
    )
  } else {
    lines.push('time span  none (no events)')
  }
  const peak = (p: PeakWindow, label: string): string =>
    `${label} ${n(p.events)} events${p.windowNs === NS_PER_SEC ? '' : ` = ${n(p.perSec)} events/s`}${p.atNs === null ? '' : ` from ${formatTapeTime(p.atNs)}`}`
  lines.push(peak(info.peak1s, 'peak 1 s  '), peak(info.peak1ms, 'peak 1 ms '))
  lines.push(`symbols    ${n(info.symbolCount)}`)
  for (const s of info.topSymbols) {
    lines.push(
      `  ${s.symbol.padEnd(10)} ${n(s.events).padStart(12)} events  (${n(s.quotes)} quotes, ${n(s.trades)} trades, ${n(s.statuses)} status)`,
    )
  }
  if (info.outOfOrder > 0) lines.push(`out of order ${n(info.outOfOrder)} events`)
  lines.push(info.truncated === null ? 'truncated  no' : `truncated  yes: ${info.truncated}`)
  return lines.join('\n')
}
