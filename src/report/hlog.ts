/**
 * HDR interval logs (`.hlog`, log format 1.3), the interchange format of the HdrHistogram family:
 * one compressed histogram per interval, so HistogramLogAnalyzer can plot them, and runs from
 * several processes or hosts combine exactly by adding intervals. Timestamps are written relative
 * to a `#[StartTime: …]` line, as HdrHistogram's own writers do.
 */

import { type Histogram, HistogramLogReader, HistogramLogWriter } from 'hdr-histogram-js'
import { emptyHistogram, type LatencyInterval } from './measurements.js'

/** One line of a log: an interval's latency histogram. */
export type HlogInterval = LatencyInterval

export interface HlogOptions {
  /** The log's StartTime, ms since the epoch (interval stamps are relative to it). */
  readonly startTimeMs: number
  /** Written as `Tag=<tag>` on every interval line (the transport). */
  readonly tag?: string
  readonly comment?: string
}

/**
 * Interval lines carry the max in ms (values are µs, hence the ratio 1000), as HdrHistogram's
 * tools expect when histograms are recorded in µs.
 */
export function formatHlog(intervals: readonly HlogInterval[], options: HlogOptions): string {
  const chunks: string[] = []
  const writer = new HistogramLogWriter((chunk) => {
    chunks.push(chunk)
  })
  if (options.comment) writer.outputComment(options.comment.replaceAll('\n', ' '))
  writer.outputLogFormatVersion()
  writer.outputStartTime(options.startTimeMs)
  writer.outputLegend()
  for (const interval of intervals) {
    if (options.tag !== undefined) interval.histogram.tag = options.tag
    writer.outputIntervalHistogram(
      interval.histogram,
      (interval.startMs - options.startTimeMs) / 1000,
      (interval.endMs - options.startTimeMs) / 1000,
      1000,
    )
  }
  return chunks.join('')
}

/** Every interval of a log, with absolute timestamps (ms since the epoch). */
export function parseHlog(text: string): HlogInterval[] {
  const reader = new HistogramLogReader(text, 64)
  const intervals: HlogInterval[] = []
  for (
    let histogram = reader.nextIntervalHistogram();
    histogram !== null;
    histogram = reader.nextIntervalHistogram()
  ) {
    histogram.autoResize = true
    intervals.push({
      startMs: Math.round(histogram.startTimeStampMsec),
      endMs: Math.round(histogram.endTimeStampMsec),
      histogram,
    })
  }
  return intervals
}

/** The sum of a log's intervals: the whole measurement's histogram. */
export function sumIntervals(intervals: readonly HlogInterval[]): Histogram {
  const first = intervals[0]?.histogram
  const total = emptyHistogram(
    first
      ? {
          lowestUs: 1,
          highestUs: Math.max(2, first.highestTrackableValue),
          significantDigits: first.numberOfSignificantValueDigits as 1 | 2 | 3 | 4 | 5,
        }
      : undefined,
  )
  for (const interval of intervals) total.add(interval.histogram)
  return total
}
