/**
 * Plain-text rendering for the terminal: a live progress line during a run, and at the end one
 * block per transport (autocannon's idea: a latency table, then throughput and accounting), with
 * validity and threshold outcomes spelled out. Pure functions returning strings; the CLI prints.
 */

import type { RunResult, TransportResult } from './result-schema.js'
import { actualText, describeOutcome, thresholdLabel } from './threshold-text.js'
import { formatVerdict } from './verdict.js'

export type Align = 'left' | 'right'

/** Aligned columns, header underlined; no colour, so logs and CI output stay readable. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  )
  const line = (cells: readonly string[]) =>
    widths
      .map((width, column) => {
        const cell = cells[column] ?? ''
        return (align[column] ?? (column === 0 ? 'left' : 'right')) === 'left'
          ? cell.padEnd(width)
          : cell.padStart(width)
      })
      .join('  ')
      .trimEnd()
  return [
    line(headers),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map(line),
  ].join('\n')
}

/** 850 µs, 12.3 ms, 1.25 s: three significant figures, like the histograms keep. */
export function formatUs(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`
  if (us < 1_000_000) return `${(us / 1000).toPrecision(3)} ms`
  return `${(us / 1_000_000).toPrecision(3)} s`
}

export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`
}

export function formatRatio(ratio: number): string {
  return `${(ratio * 100).toFixed(3)}%`
}

const TRANSPORT_LABELS: Readonly<Record<string, string>> = {
  sse: 'SSE',
  longpoll: 'Long polling',
  ws: 'WebSocket',
  eventsource: 'SSE (eventsource)',
  http: 'HTTP',
}

export function transportLabel(transport: string): string {
  return TRANSPORT_LABELS[transport] ?? transport
}

export interface ProgressInfo {
  readonly transport: string
  readonly elapsedSec: number
  /** Planned seconds for this transport (warm-up included), if known. */
  readonly totalSec?: number
  readonly connected: number
  readonly subscribers: number
  readonly deliveriesPerSec: number
  /** p99 of the measurement so far, µs (0 before the first event). */
  readonly p99Us: number
  readonly errors: number
  /** True while in the warm-up (results not yet recorded). */
  readonly warmingUp?: boolean
}

/** One line, rewritten in place by the CLI about once a second. */
export function formatProgressLine(info: ProgressInfo): string {
  const time =
    info.totalSec === undefined
      ? `${Math.floor(info.elapsedSec)} s`
      : `${Math.floor(info.elapsedSec)}/${Math.ceil(info.totalSec)} s`
  return [
    `[${info.transport}]`,
    time + (info.warmingUp ? ' (warm-up)' : ''),
    `connected ${formatCount(info.connected)}/${formatCount(info.subscribers)}`,
    `deliveries/s ${formatCount(info.deliveriesPerSec)}`,
    `p99 ${info.p99Us > 0 ? formatUs(info.p99Us) : '–'}`,
    `errors ${formatCount(info.errors)}`,
  ].join('  ')
}

/**
 * Recovery split in three, broadcast spread and staleness, each only when it has a sample: a run
 * without drops, fan-out or conflation prints none of them.
 */
function version6Lines(result: TransportResult): string[] {
  const lines: string[] = []
  const pair = (p: TransportResult['latencyUs']) =>
    p.count === 0 ? '–' : `p50 ${formatUs(p.p50)} p99 ${formatUs(p.p99)}`
  const split = result.recoverySplit
  if (split !== undefined && split.reconnectedUs.count > 0) {
    lines.push(
      `recovery: reconnected ${pair(split.reconnectedUs)}, caught up ${pair(split.caughtUpUs)}, first new ${pair(split.firstNewUs)} (of ${formatCount(result.reconnects)} reconnects; caught up ${formatCount(split.caughtUpUs.count)}, first new ${formatCount(split.firstNewUs.count)})`,
    )
  }
  const spread = result.spread
  if (spread !== undefined && spread.spreadUs.count > 0) {
    lines.push(
      `spread (an event's first to last receipt across its subscribers): ${pair(spread.spreadUs)} max ${formatUs(spread.spreadUs.max)} over ${formatCount(spread.spreadUs.count)} sampled events, ${formatCount(spread.incomplete)} not received by all`,
    )
  }
  const staleness = result.stalenessUs
  if (staleness !== undefined && staleness.count > 0) {
    lines.push(
      `staleness under conflation: a replaced value was ${pair(staleness)} max ${formatUs(staleness.max)} old (${formatCount(staleness.count)} replaced)`,
    )
  }
  return lines
}

/**
 * The arrivals line's tail when subscribers changed their watch-lists: how many changes, and
 * change → the server's acknowledgement (a change still unanswered at the end has no sample).
 */
function watchListChangesText(
  arrivals: NonNullable<TransportResult['arrivals']>,
  measured: TransportResult['watchListChanges'],
): string {
  const asked = arrivals.watchListChanges
  if (asked === undefined) return ''
  const made = measured?.changes ?? 0
  const acknowledged = measured?.acknowledgedUs
  const timing =
    acknowledged === undefined || acknowledged.count === 0
      ? 'none acknowledged'
      : `change → acknowledged p50 ${formatUs(acknowledged.p50)} p99 ${formatUs(acknowledged.p99)} max ${formatUs(acknowledged.max)} (${formatCount(acknowledged.count)} acknowledged)`
  return `; watch-list changes: ${formatCount(made)} (every ${asked.everySec} s mean per subscriber, ${asked.swap} symbol${asked.swap === 1 ? '' : 's'} each), ${timing}`
}

/** The end-of-run block for one transport. */
export function formatTransportTable(result: TransportResult): string {
  const latencyRow = (name: string, p: TransportResult['latencyUs']) =>
    p.count === 0
      ? [name, '–', '–', '–', '–', '–', '–', '0']
      : [
          name,
          formatUs(p.p50),
          formatUs(p.p90),
          formatUs(p.p99),
          formatUs(p.p999),
          formatUs(p.max),
          formatUs(p.mean),
          formatCount(p.count),
        ]
  const head = `${transportLabel(result.transport)}: ${formatCount(result.subscribers.connectedMax)} of ${formatCount(
    result.subscribers.asked,
  )} subscribers connected, ${result.measuredSec.toFixed(1)} s measured${result.validity.valid ? '' : '  [INVALID]'}`
  const latency = formatTable(
    ['', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean', 'count'],
    [
      latencyRow('latency', result.latencyUs),
      latencyRow('connect', result.connectTimeUs),
      latencyRow('recovery', result.recoveryUs),
    ],
  )
  const traffic = formatTable(
    [
      'deliveries/s',
      'bytes/s',
      'bytes/event',
      'lost',
      'loss',
      'dups',
      'out-of-order',
      'errors',
      'reconnects',
      'replayed',
    ],
    [
      [
        formatCount(result.deliveriesPerSec),
        formatBytes(result.bytesPerSec),
        result.bytesPerEvent === null ? '–' : result.bytesPerEvent.toFixed(1),
        formatCount(result.lost),
        formatRatio(result.lossRatio),
        formatCount(result.duplicates),
        formatCount(result.outOfOrder),
        formatCount(result.errors),
        formatCount(result.reconnects),
        formatCount(result.eventsRecoveredByReplay),
      ],
    ],
    Array(10).fill('right'),
  )
  const lines = [head, '', latency, '', traffic, '']
  if (result.faults !== undefined && result.faults.length > 0) {
    const fired = result.faults.map(
      (fault) =>
        `${fault.kind} ${Math.round(fault.fraction * 100)}% at ${fault.atSec} s${fault.note ? ` (${fault.note})` : ''}`,
    )
    const recovery = result.recoveryUs
    // Caught up (every event sent before its reconnect received) is when a subscriber resumed;
    // the first event of any kind also waits for a quiet watch-list's next tick.
    const caught = result.recoverySplit?.caughtUpUs
    const resumed =
      caught !== undefined && caught.count > 0
        ? `caught up within ${formatUs(caught.max)}${caught.count < result.reconnects ? ` (${formatCount(caught.count)} of ${formatCount(result.reconnects)})` : ''}`
        : `every subscriber resumed within ${recovery.count === 0 ? '–' : formatUs(recovery.max)}`
    lines.push(
      `faults: ${fired.join(', ')}; ${resumed}, ${formatCount(result.eventsRecoveredByReplay)} events replayed, ${formatCount(result.lost)} lost, ${formatCount(result.duplicates)} duplicated, ${formatCount(result.resets)} resets`,
    )
  }
  lines.push(...version6Lines(result))
  const arrivals = result.arrivals
  if (arrivals !== undefined) {
    lines.push(
      `arrivals: ${formatCount(arrivals.arrivals)} at ${arrivals.ratePerSec}/s (${formatCount(arrivals.dropped)} dropped at the bound of ${formatCount(arrivals.maxSubscribers)}), ${formatCount(arrivals.departures)} left after ${arrivals.sessionDistribution} stays of ${arrivals.sessionSecMean} s mean; in a session: ${arrivals.activeMean.toFixed(1)} on average (rate × stay: ${(arrivals.ratePerSec * arrivals.sessionSecMean).toFixed(1)}), ${formatCount(arrivals.activeMax)} at most${watchListChangesText(arrivals, result.watchListChanges)}`,
    )
  }
  if (result.lossCountedAgainst === 'sent') {
    lines.push(
      `loss counted against what was sent: ${formatCount(result.tailLost ?? 0)} of the ${formatCount(result.lost)} lost never arrived after a subscriber's last event`,
    )
  } else if (result.lossCountedAgainst === 'gaps') {
    lines.push(
      'loss counted from gaps in what arrived only: the target cannot say what it sent (an event missing after the last one received is not seen)',
    )
  }
  const publisher = result.publisher
  if (publisher !== undefined) {
    const failed = Object.entries(publisher.errorsByKind)
      .map(([kind, n]) => `${kind} ${formatCount(n)}`)
      .join(', ')
    lines.push(
      `publisher: ${formatCount(publisher.published)} published, ${formatCount(publisher.failed)} failed${failed === '' ? '' : ` (${failed})`}, acknowledged after p50 ${formatUs(publisher.lagUs.p50)} p99 ${formatUs(publisher.lagUs.p99)} max ${formatUs(publisher.lagUs.max)}${publisher.lateUs === undefined ? '' : `, its own frames late p99 ${formatUs(publisher.lateUs.p99)}`}${publisher.behind ? ', BEHIND its schedule' : ''}`,
    )
  }
  const errorKinds = Object.entries(result.errorsByKind).sort(([, a], [, b]) => b - a)
  if (errorKinds.length > 0) {
    lines.push(
      `errors by kind: ${errorKinds.map(([kind, n]) => `${kind} ${formatCount(n)}`).join(', ')}`,
    )
  }
  if (result.server) {
    const perConnection = result.server.rssBytesPerConnection
    lines.push(
      `server: CPU avg ${result.server.cpuPercentAvg.toFixed(0)}% max ${result.server.cpuPercentMax.toFixed(0)}%, RSS max ${formatBytes(result.server.rssBytesMax)}${perConnection === null ? '' : `, ${formatBytes(perConnection)}/connection`}`,
    )
  }
  const h = result.harness
  lines.push(
    `harness: CPU avg ${h.cpuPercentAvg.toFixed(0)}% max ${h.cpuPercentMax.toFixed(0)}% of ${h.cores * 100}%, event-loop delay p99 ${formatUs(h.eventLoopDelayP99Us)} max ${formatUs(h.eventLoopDelayMaxUs)}${h.cpuUsPerEvent === null ? '' : `, ${h.cpuUsPerEvent.toFixed(2)} µs CPU/event`}`,
  )
  for (const reason of result.validity.invalidReasons) lines.push(`INVALID: ${reason}`)
  for (const outcome of result.thresholds) {
    lines.push(
      `threshold ${thresholdLabel(outcome)}: ${actualText(outcome)} ${outcome.passed ? 'ok' : 'FAILED'}`,
    )
  }
  return lines.join('\n').trimEnd()
}

/** Where a result's load came from when not from one whole run: a segment, or a merge. */
export function formatProvenance(result: RunResult): string {
  if (result.segment !== undefined) {
    return `segment ${result.segment.index}/${result.segment.count}: this host's share of the workload (add the hosts' results up with tickstorm merge)`
  }
  if (result.mergedFrom === undefined) return ''
  const inputs = result.mergedFrom.map(
    (from) =>
      `  ${from.segment === null ? 'whole scenario' : `segment ${from.segment.index}/${from.segment.count}`}: ${from.dir} (${from.machine.cpuModel} × ${from.machine.cores}, ${from.startedAt}${from.passed ? '' : ', did not pass'})`,
  )
  return [`merged from ${result.mergedFrom.length} harness runs:`, ...inputs].join('\n')
}

/** Every transport's block, then the capacity curves and the verdict with its reasons. */
export function formatRunSummary(result: RunResult): string {
  const parts = [
    `${result.scenario.name} (${result.scenario.file}) on ${result.machine.cpuModel} × ${result.machine.cores}, Node ${result.nodeVersion}, commit ${result.commit}`,
  ]
  if (result.targetKind !== undefined) {
    const cap = result.channelsPerConnection
    parts.push(
      `target: ${result.targetKind} ${result.target}, events from ${result.source === 'harness' ? "the harness's publisher (the seeded market, published on schedule)" : 'the server'}${cap === null || cap === undefined ? '' : `; at most ${cap} channels per connection`}`,
    )
  }
  const provenance = formatProvenance(result)
  if (provenance !== '') parts.push(provenance)
  for (const transport of result.transports) parts.push(formatTransportTable(transport))
  for (const capacity of result.capacity ?? []) parts.push(formatCapacityCurve(capacity))
  if (result.interrupted === true && result.transports.length === 0) {
    parts.push('nothing was measured before the run was interrupted')
  }
  parts.push(formatVerdict(result))
  return parts.join('\n\n')
}

/**
 * A capacity search's curve, a step a row; what broke a step (its failed `breakOn` thresholds,
 * a windowed one with its worst window) in a last column when a step has any.
 */
function formatCapacityCurve(capacity: NonNullable<RunResult['capacity']>[number]): string {
  const brokenBy = (step: (typeof capacity.curve)[number]): string =>
    (step.breakOn ?? [])
      .filter((outcome) => !outcome.passed)
      .map(describeOutcome)
      .join('; ')
  const broken = capacity.curve.some((step) => brokenBy(step) !== '')
  const table = formatTable(
    ['subscribers', 'p99', 'loss', 'error rate', 'passed', ...(broken ? ['broken by'] : [])],
    capacity.curve.map((step) => [
      formatCount(step.subscribers),
      formatUs(step.p99Us),
      formatRatio(step.lossRatio),
      formatRatio(step.errorRate),
      step.passed ? 'yes' : 'NO',
      ...(broken ? [brokenBy(step)] : []),
    ]),
    ['right', 'right', 'right', 'right', 'right', 'left'],
  )
  return `${transportLabel(capacity.transport)} capacity: ${formatCount(capacity.maxPassingSubscribers)} subscribers\n\n${table}`
}
