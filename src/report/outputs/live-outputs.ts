/**
 * The run's live metrics outputs (`--out prometheus-rw=URL`, `--out otlp=URL`): each live report
 * (once a second per transport) becomes a snapshot offered to every output's queue, and the end
 * of the run sends one final snapshot and waits for the queues, within a deadline.
 *
 * An output never breaks the run: a send that fails is counted and the first failure of each
 * output is said at once (through `onFailure`), the run goes on, and `finish` says what each
 * output did. The figures are cumulative, so a send lost or dropped is made good by the next.
 */

import type { TransportName } from '../measurements.js'
import type { RunResult } from '../result-schema.js'
import {
  figuresOfProgress,
  type LiveProgressView,
  type MetricsSnapshot,
  snapshotOfResult,
  type TransportFigures,
} from './metrics-snapshot.js'
import type { ExponentialBuckets } from './native-histogram.js'
import { createOtlpSender, resourceMetricsOf } from './otlp.js'
import { pushRemoteWrite, type RunLabels } from './prometheus-remote-write.js'
import { createPushQueue, type PushQueue, type PushStats } from './push-queue.js'

/** The kinds `--out` takes, as typed before the `=`. */
export const OUTPUT_KINDS = ['prometheus-rw', 'otlp'] as const

export type OutputKind = (typeof OUTPUT_KINDS)[number]

export interface OutputTarget {
  readonly kind: OutputKind
  readonly url: string
}

export interface OutputOutcome extends PushStats {
  readonly target: OutputTarget
}

export interface LiveOutputs {
  /** A progress report: its live window, if it has one, goes to every output. Never waits. */
  onProgress(progress: LiveProgressView): void
  /**
   * The final flush: one last snapshot of every transport reported (the result's own figures
   * where they continue the live ones, see `finalFigures`), then waits for every output's queue,
   * at most `deadlineMs` in all. `result` is null when the run ended without one.
   */
  finish(result: RunResult | null, deadlineMs: number): Promise<OutputOutcome[]>
}

/**
 * Each request's own limit: a receiver slower than this once a second is behind anyway, and the
 * queue keeps only the newest snapshots while it waits.
 */
export const DEFAULT_PUSH_TIMEOUT_MS = 5000

export interface LiveOutputsOptions {
  /** tickstorm's version, for OpenTelemetry's resource and scope. */
  readonly version: string
  readonly timeoutMs?: number
  /** The first failed send of an output (later ones are only counted). */
  readonly onFailure?: (target: OutputTarget, message: string) => void
  /** The clock of the samples (tests); default Date.now. */
  readonly nowMs?: () => number
}

interface Output {
  readonly target: OutputTarget
  readonly queue: PushQueue<MetricsSnapshot>
  readonly close: () => Promise<void>
}

export function createLiveOutputs(
  targets: readonly OutputTarget[],
  run: RunLabels,
  options: LiveOutputsOptions,
): LiveOutputs {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PUSH_TIMEOUT_MS
  const nowMs = options.nowMs ?? Date.now
  const outputs = targets.map((target): Output => {
    const onFirstFailure = (message: string): void => options.onFailure?.(target, message)
    if (target.kind === 'prometheus-rw') {
      const queue = createPushQueue<MetricsSnapshot>(
        (snapshot) => pushRemoteWrite(target.url, snapshot, run, timeoutMs),
        { onFirstFailure },
      )
      return { target, queue, close: async () => {} }
    }
    const sender = createOtlpSender(target.url, timeoutMs)
    const queue = createPushQueue<MetricsSnapshot>(
      (snapshot) => sender.send(resourceMetricsOf(snapshot, run, options.version)),
      { onFirstFailure },
    )
    return { target, queue, close: () => sender.shutdown() }
  })
  /** The last figures of each transport, for the final flush. */
  const last = new Map<TransportName, TransportFigures>()
  // Prometheus refuses a sample no newer than the series' last: every snapshot is stamped later
  // than the one before, even when two reports fall in the same millisecond.
  let lastStampMs = 0
  const stamp = (): number => {
    lastStampMs = Math.max(Math.round(nowMs()), lastStampMs + 1)
    return lastStampMs
  }
  const offer = (snapshot: MetricsSnapshot): void => {
    for (const output of outputs) output.queue.offer(snapshot)
  }

  return {
    onProgress(progress) {
      if (outputs.length === 0) return
      const figures = figuresOfProgress(progress)
      if (figures === null) return
      last.set(figures.transport, figures)
      offer(Object.freeze({ timeMs: stamp(), transports: Object.freeze([figures]) }))
    },
    async finish(result, deadlineMs) {
      if (outputs.length === 0) return []
      const timeMs = stamp()
      const final = finalFigures(last, result === null ? null : snapshotOfResult(result, timeMs))
      if (final.length > 0) offer(Object.freeze({ timeMs, transports: Object.freeze(final) }))
      const outcomes = await Promise.all(
        outputs.map(async (output) => {
          const stats = await output.queue.drain(deadlineMs)
          await output.close().catch(() => {})
          return Object.freeze({ target: output.target, ...stats })
        }),
      )
      return outcomes
    },
  }
}

/**
 * What the final flush sends per transport: the result's figures (exactly result.json's) when
 * they continue the last live ones, that is no counter and no histogram bucket is lower; else the
 * last live figures again. A lower value would read as a counter reset and make `rate()` jump;
 * the result can hold less than the last report when its window ended before that report came.
 * The live window's start is kept, so the series' start does not move.
 */
export function finalFigures(
  last: ReadonlyMap<TransportName, TransportFigures>,
  result: MetricsSnapshot | null,
): TransportFigures[] {
  const final: TransportFigures[] = []
  for (const [transport, live] of last) {
    const settled = result?.transports.find((figures) => figures.transport === transport)
    final.push(
      settled !== undefined && continues(live, settled)
        ? Object.freeze({ ...settled, startMs: live.startMs, measuring: live.measuring })
        : live,
    )
  }
  return final
}

const COUNTER_KEYS = ['deliveries', 'errors', 'reconnects', 'connects', 'lost', 'bytes'] as const
const HISTOGRAM_KEYS = ['latency', 'connectTime', 'recovery'] as const

function continues(before: TransportFigures, after: TransportFigures): boolean {
  return (
    COUNTER_KEYS.every((key) => after[key] >= before[key]) &&
    HISTOGRAM_KEYS.every((key) => bucketsContinue(before[key], after[key]))
  )
}

function bucketsContinue(before: ExponentialBuckets, after: ExponentialBuckets): boolean {
  if (before.schema !== after.schema || after.count < before.count) return false
  if (after.zeroCount < before.zeroCount) return false
  const counts = new Map(after.buckets.map((bucket) => [bucket.index, bucket.count]))
  return before.buckets.every((bucket) => (counts.get(bucket.index) ?? 0) >= bucket.count)
}
