/**
 * The report's tables, each a section shown only when the result has its figures: the summary,
 * the thresholds (legacy ones as they always read; expressions with their window and whether they
 * may abort), recovery split in three beside the older figure, broadcast spread, staleness under
 * conflation, and the injected faults. The tables carry the numbers, so the page reads without
 * JavaScript; each newer figure comes with a sentence of what it measures.
 */

import { formatBytes, formatCount, formatRatio, formatUs, transportLabel } from './console.js'
import { faultLabel, formatSec } from './html-charts.js'
import { escapeHtml, tableRow as row } from './html-page.js'
import type { Percentiles, RunResult, TransportResult } from './result-schema.js'

export function summaryTable(transports: readonly TransportResult[]): string {
  const head = row(
    [
      'transport',
      'connected',
      'p50',
      'p90',
      'p99',
      'p99.9',
      'max',
      'deliveries/s',
      'bytes/event',
      'loss',
      'errors',
      'reconnects',
      'recovery p99',
      'server CPU',
      'RSS/conn',
      'harness CPU',
      'valid',
    ],
    true,
  )
  const rows = transports.map((t) =>
    row([
      transportLabel(t.transport),
      `${formatCount(t.subscribers.connectedMax)}/${formatCount(t.subscribers.asked)}`,
      formatUs(t.latencyUs.p50),
      formatUs(t.latencyUs.p90),
      formatUs(t.latencyUs.p99),
      formatUs(t.latencyUs.p999),
      formatUs(t.latencyUs.max),
      formatCount(t.deliveriesPerSec),
      t.bytesPerEvent === null ? '–' : t.bytesPerEvent.toFixed(1),
      `${formatRatio(t.lossRatio)}${t.lossCountedAgainst === 'gaps' ? ' (gaps only)' : ''}`,
      formatCount(t.errors),
      formatCount(t.reconnects),
      t.recoveryUs.count === 0 ? '–' : formatUs(t.recoveryUs.p99),
      t.server ? `${t.server.cpuPercentAvg.toFixed(0)}%` : '–',
      t.server?.rssBytesPerConnection == null ? '–' : formatBytes(t.server.rssBytesPerConnection),
      `${t.harness.cpuPercentAvg.toFixed(0)}% of ${t.harness.cores * 100}%`,
      t.validity.valid ? 'yes' : 'NO',
    ]),
  )
  return `<table class="summary">${head}${rows.join('')}</table>`
}

type Outcome = TransportResult['thresholds'][number]

/** A threshold's value in its own unit: `100 ms`, `1 %`, `50,000/s`, `3`. */
function withUnit(value: number, unit: Outcome['unit']): string {
  switch (unit) {
    case 'ms':
      return `${Number(value.toPrecision(4))} ms`
    case 'ratio':
      return `${Number((value * 100).toPrecision(3))} %`
    case 'perSec':
      return `${formatCount(value)}/s`
    case 'count':
      return formatCount(value)
    default:
      return Number.isInteger(value) ? String(value) : value.toPrecision(4)
  }
}

/**
 * One row per threshold per transport. Results before schema 6 (no expression, no window) keep
 * the five columns they always had; with any expression a window column joins, and the outcome
 * says when a threshold could stop the run.
 */
export function thresholdsTable(transports: readonly TransportResult[]): string {
  const outcomes = transports.flatMap((t) => t.thresholds.map((outcome) => ({ t, outcome })))
  if (outcomes.length === 0) return ''
  const modern = outcomes.some(
    ({ outcome }) => outcome.expression !== undefined || outcome.overSec !== undefined,
  )
  const rows = outcomes.map(({ t, outcome }) => {
    const cells = [
      transportLabel(t.transport),
      outcome.expression === undefined ? outcome.name : `${outcome.name}: ${outcome.expression}`,
      withUnit(outcome.limit, outcome.unit),
      withUnit(outcome.actual, outcome.unit),
    ]
    if (modern) {
      cells.push(
        outcome.overSec === undefined
          ? 'whole run'
          : `every ${formatSec(outcome.overSec)}${outcome.worstWindowAtSec === undefined ? '' : `; worst from ${formatSec(outcome.worstWindowAtSec)}`}`,
      )
    }
    const verdict = outcome.passed ? 'passed' : 'FAILED'
    cells.push(outcome.abortOnFail === true ? `${verdict} (aborts on fail)` : verdict)
    return row(cells)
  })
  const head = [
    'transport',
    'threshold',
    'limit',
    'actual',
    ...(modern ? ['window'] : []),
    'outcome',
  ]
  const note = modern
    ? '<p class="explain">Over a window, every window of that length must hold, and the actual figure is the worst window\'s.</p>'
    : ''
  return `<h2>Thresholds</h2>${note}<table class="summary">${row(head, true)}${rows.join('')}</table>`
}

function percentileCells(p: Percentiles): string[] {
  if (p.count === 0) return ['–', '–', '–', '–', '0']
  return [formatUs(p.p50), formatUs(p.p90), formatUs(p.p99), formatUs(p.max), formatCount(p.count)]
}

/** Terms and what they mean, as a definition list above a section's table. */
function explain(terms: readonly (readonly [string, string])[]): string {
  return `<dl class="explain">${terms.map(([term, meaning]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(meaning)}</dd>`).join('')}</dl>`
}

/**
 * Recovery after a drop, split in three, beside the older one-figure recovery. Shown when some
 * transport recovered at least once: a harness of schema 6 always records the split, and a run
 * without a drop would get a table of dashes.
 */
export function recoverySplitSection(transports: readonly TransportResult[]): string {
  const split = transports.filter(
    (t) =>
      t.recoverySplit !== undefined &&
      t.recoverySplit.reconnectedUs.count +
        t.recoverySplit.caughtUpUs.count +
        t.recoverySplit.firstNewUs.count >
        0,
  )
  if (split.length === 0) return ''
  const rows = split.flatMap((t) => {
    const s = t.recoverySplit!
    const label = transportLabel(t.transport)
    return [
      row([label, 'drop → reconnected', ...percentileCells(s.reconnectedUs)]),
      row([label, 'drop → caught up', ...percentileCells(s.caughtUpUs)]),
      row([label, 'drop → first new event', ...percentileCells(s.firstNewUs)]),
      row([label, 'drop → first resumed event (recovery)', ...percentileCells(t.recoveryUs)]),
    ]
  })
  return `<h2>Recovery after a drop</h2>
${explain([
  [
    'drop → reconnected',
    'until the stream or socket answered again: the client’s retry delay, the connect and the server’s accept.',
  ],
  [
    'drop → caught up',
    'until every event sent before the reconnect had arrived: when the subscriber was missing nothing any more.',
  ],
  [
    'drop → first new event',
    'until the first event sent after the reconnect arrived; on a quiet watch-list this includes the wait for its next tick.',
  ],
  [
    'drop → first resumed event (recovery)',
    'the older single figure: until the first event of any kind after the drop, so it mixes the three above.',
  ],
])}
<table class="summary">${row(['transport', 'from the drop to', 'p50', 'p90', 'p99', 'max', 'recoveries'], true)}${rows.join('')}</table>`
}

/** Broadcast spread: how unfair a fan-out is. Shown when some transport sampled an event. */
export function spreadSection(transports: readonly TransportResult[]): string {
  const measured = transports.filter(
    (t) => t.spread !== undefined && t.spread.spreadUs.count + t.spread.incomplete > 0,
  )
  if (measured.length === 0) return ''
  const rows = measured.map((t) =>
    row([
      transportLabel(t.transport),
      ...percentileCells(t.spread!.spreadUs),
      formatCount(t.spread!.incomplete),
    ]),
  )
  return `<h2>Broadcast spread</h2>
<p class="explain">For each event, the time from its first receipt to its last across the subscribers that should get it: how long the last subscriber waited after the first one had it. Incomplete: events some of those subscribers never received.</p>
<table class="summary">${row(['transport', 'p50', 'p90', 'p99', 'max', 'events', 'incomplete'], true)}${rows.join('')}</table>`
}

/** Staleness under conflation. Shown when some conflated value was replaced. */
export function stalenessSection(transports: readonly TransportResult[]): string {
  const measured = transports.filter((t) => t.stalenessUs !== undefined && t.stalenessUs.count > 0)
  if (measured.length === 0) return ''
  const rows = measured.map((t) =>
    row([transportLabel(t.transport), ...percentileCells(t.stalenessUs!)]),
  )
  return `<h2>Staleness under conflation</h2>
<p class="explain">How old the value a conflated subscriber held was when a newer one replaced it: the newer value’s receipt less the older value’s scheduled time. A conflating server sends only the latest value; this is what that saving cost in freshness.</p>
<table class="summary">${row(['transport', 'p50', 'p90', 'p99', 'max', 'replacements'], true)}${rows.join('')}</table>`
}

/** The faults the scenario injected, as they fired, and the moment a threshold aborted the run. */
export function faultsSection(result: RunResult): string {
  const rows = result.transports.flatMap((t) =>
    (t.faults ?? []).map((fault) =>
      row([
        formatSec(fault.atSec),
        transportLabel(t.transport),
        faultLabel(fault),
        fault.note ?? '',
      ]),
    ),
  )
  const aborted = result.abortedBy
  if (aborted !== undefined) {
    rows.push(
      row([
        formatSec(aborted.atSec),
        transportLabel(aborted.transport),
        `aborted by ${aborted.threshold}`,
        'the run stopped here',
      ]),
    )
  }
  if (rows.length === 0) return ''
  return `<h2>Injected faults</h2>
<p class="explain">Seconds since each transport’s measurement began; every time chart below marks them.</p>
<table class="summary">${row(['at', 'transport', 'what', 'note'], true)}${rows.join('')}</table>`
}

/** The banner's line for a run a threshold aborted; empty otherwise. */
export function abortedLine(result: RunResult): string {
  const aborted = result.abortedBy
  if (aborted === undefined) return ''
  return `<div class="verdict">ABORTED ${escapeHtml(formatSec(aborted.atSec))} into the ${escapeHtml(transportLabel(aborted.transport))} measurement: ${escapeHtml(aborted.threshold)} failed, and it was set to abort the run on failure.</div>`
}

/**
 * The open model's arrivals (executor arrival-rate), with its watch-list changes when the
 * scenario asked for them. Shown when some transport ran arrivals.
 */
export function arrivalsSection(transports: readonly TransportResult[]): string {
  const open = transports.filter((t) => t.arrivals !== undefined)
  if (open.length === 0) return ''
  const changing = open.some((t) => t.arrivals!.watchListChanges !== undefined)
  const rows = open.map((t) => {
    const a = t.arrivals!
    const cells = [
      transportLabel(t.transport),
      `${formatCount(a.arrivals)} at ${a.ratePerSec}/s`,
      formatCount(a.dropped),
      formatCount(a.departures),
      `${a.activeMean.toFixed(1)} (max ${formatCount(a.activeMax)})`,
    ]
    if (!changing) return row(cells)
    const acknowledged = t.watchListChanges?.acknowledgedUs
    return row([
      ...cells,
      formatCount(t.watchListChanges?.changes ?? 0),
      ...(acknowledged === undefined ? ['–', '–', '–', '–', '0'] : percentileCells(acknowledged)),
    ])
  })
  const head = ['transport', 'arrivals', 'dropped', 'left', 'in a session (mean)']
  const changeHead = ['changes', 'p50', 'p90', 'p99', 'max', 'acknowledged']
  return `<h2>Arrivals</h2>
<p class="explain">Subscribers arriving as a Poisson process and leaving after drawn stays (the open model), over the measurement.${
    changing
      ? ' Watch-list changes: how many the subscribers made, and the time from a change to the server acknowledging the new list (the WebSocket <code>subscribed</code> reply, the new stream’s response head, the first answer to the new poll): the server’s taking of a change, apart from how soon the new symbols next trade.'
      : ''
  }</p>
<table class="summary">${row(changing ? [...head, ...changeHead] : head, true)}${rows.join('')}</table>`
}
