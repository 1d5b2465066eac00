/**
 * `report.html`: one self-contained file that opens offline (from a CI artifact, an e-mail, a
 * laptop on a plane). uPlot's JS and CSS are read from node_modules and inlined, the data rides
 * along as JSON in a non-executing script tag, and every interpolated string is escaped: a scenario
 * name or error kind is user text, and a report is exactly the file people open without thinking.
 */

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import {
  formatBytes,
  formatCount,
  formatProvenance,
  formatRatio,
  formatUs,
  transportLabel,
} from './console.js'
import type { DistributionPoint, RunResult, TransportResult } from './result-schema.js'
import { verdictOf } from './verdict.js'

export interface UplotAssets {
  readonly js: string
  readonly css: string
}

let cachedAssets: UplotAssets | undefined

/** uPlot's minified IIFE build and stylesheet, from wherever Node resolves the package. */
export function loadUplotAssets(): UplotAssets {
  if (cachedAssets) return cachedAssets
  const require = createRequire(import.meta.url)
  const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8')
  const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')
  cachedAssets = { js, css }
  return cachedAssets
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

/** JSON safe inside a `<script type="application/json">`: no `</script>`, no `<!--`, no U+2028. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029')
}

// ---------------------------------------------------------------------------------------------
// Chart data, shaped for uPlot (one shared x array, a value array per series, null for gaps)

export type ChartXKind = 'nines' | 'seconds' | 'count'

export interface ChartSeries {
  readonly label: string
  readonly color: string
  readonly dash?: boolean
  readonly values: readonly (number | null)[]
}

export interface ChartSpec {
  readonly id: string
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly xKind: ChartXKind
  readonly x: readonly number[]
  readonly series: readonly ChartSeries[]
}

export const SERIES_COLORS: readonly string[] = Object.freeze([
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
])

export function colorFor(index: number): string {
  return SERIES_COLORS[index % SERIES_COLORS.length] ?? '#000'
}

export interface PointSeries {
  readonly label: string
  readonly color: string
  readonly dash?: boolean
  readonly points: readonly (readonly [number, number])[]
}

/** Puts series with different x values on one sorted x axis (uPlot's aligned-data form). */
export function alignSeries(series: readonly PointSeries[]): {
  x: number[]
  series: ChartSeries[]
} {
  const key = (x: number) => Math.round(x * 1000) / 1000
  const xs = [...new Set(series.flatMap((entry) => entry.points.map(([x]) => key(x))))].sort(
    (a, b) => a - b,
  )
  const index = new Map(xs.map((x, i) => [x, i]))
  return {
    x: xs,
    series: series.map((entry) => {
      const values: (number | null)[] = xs.map(() => null)
      for (const [x, y] of entry.points) values[index.get(key(x)) ?? 0] = y
      const out: ChartSeries = { label: entry.label, color: entry.color, values }
      return entry.dash ? { ...out, dash: true } : out
    }),
  }
}

/** Percentile → "nines" (90% → 1, 99% → 2, 99.9% → 3); the max (100%) has no place on it. */
export function toNines(percentile: number): number {
  return -Math.log10(1 - percentile / 100)
}

export function distributionPoints(distribution: readonly DistributionPoint[]): [number, number][] {
  return distribution
    .filter((point) => point.percentile < 100)
    .map((point) => [toNines(point.percentile), point.valueUs / 1000])
}

export function runCharts(result: RunResult): ChartSpec[] {
  const transports = result.transports
  const perTransport = (
    pick: (transport: TransportResult) => (readonly [number, number])[],
  ): PointSeries[] =>
    transports.map((transport, i) => ({
      label: transportLabel(transport.transport),
      color: colorFor(i),
      points: pick(transport),
    }))
  const chart = (
    id: string,
    title: string,
    xLabel: string,
    yLabel: string,
    xKind: ChartXKind,
    series: PointSeries[],
  ): ChartSpec => ({ id, title, xLabel, yLabel, xKind, ...alignSeries(series) })

  const charts = [
    chart(
      'latency-distribution',
      'Latency by percentile',
      'percentile',
      'latency (ms)',
      'nines',
      perTransport((t) => distributionPoints(t.latencyDistribution)),
    ),
    chart(
      'deliveries',
      'Deliveries per second',
      'seconds',
      'deliveries/s',
      'seconds',
      perTransport((t) => t.timeSeries.map((p) => [p.tSec, p.deliveriesPerSec])),
    ),
    chart(
      'p99',
      'p99 latency over time',
      'seconds',
      'p99 (ms)',
      'seconds',
      perTransport((t) => t.timeSeries.map((p) => [p.tSec, p.p99Us / 1000])),
    ),
    chart(
      'connections',
      'Connections over time',
      'seconds',
      'connections',
      'seconds',
      perTransport((t) => t.timeSeries.map((p) => [p.tSec, p.connections])),
    ),
  ]
  const capacity = result.capacity ?? []
  if (capacity.length > 0) {
    charts.push(
      chart(
        'capacity',
        'Capacity search: p99 by subscribers',
        'subscribers',
        'p99 (ms)',
        'count',
        capacity.map((entry, i) => ({
          label: transportLabel(entry.transport),
          color: colorFor(i),
          points: entry.curve.map((step) => [step.subscribers, step.p99Us / 1000] as const),
        })),
      ),
    )
  }
  return charts
}

// ---------------------------------------------------------------------------------------------
// The page

/** Chart widths in CSS pixels: the container's, within these bounds. */
export const CHART_MIN_WIDTH = 280
export const CHART_MAX_WIDTH = 1100

/**
 * Runs in the browser: draws every ChartSpec in the embedded data with uPlot, and keeps the plots
 * in `window.tickstormCharts` (for a console, and for the test that measures their axes).
 *
 * The y axis is sized to its widest tick label. uPlot's default is a fixed 50 px for the ticks,
 * the gap and the labels together, and the axis title sits in its own 30 px band outside that:
 * "40,000" in the 12 px axis font is 40 px, plus a 10 px tick and the 5 px gap is 55, so the
 * numbers ran into the rotated "deliveries/s". Measuring each label with the canvas's own font
 * (uPlot's axis-autosize recipe) makes room for any width; uPlot calls `size` again until the
 * layout settles, and the third call keeps the size it has.
 */
const CLIENT_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('tickstorm-data').textContent);
  var plots = [];
  function ninesLabel(n) {
    var p = 100 * (1 - Math.pow(10, -n));
    return (Math.round(p * 10000) / 10000) + '%';
  }
  function widthFor(el) {
    return Math.max(${CHART_MIN_WIDTH}, Math.min(${CHART_MAX_WIDTH}, el.clientWidth || 900));
  }
  function fitLabels(u, values, axisIdx, cycleNum) {
    var axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    // axis.font[0] is in device pixels (uPlot scales it by uPlot.pxRatio), and so is the width.
    var widest = 0;
    u.ctx.font = axis.font[0];
    (values || []).forEach(function (value) {
      widest = Math.max(widest, u.ctx.measureText(String(value)).width / (uPlot.pxRatio || 1));
    });
    return Math.ceil(axis.ticks.size + axis.gap + widest + 2);
  }
  data.charts.forEach(function (spec) {
    var el = document.getElementById('chart-' + spec.id);
    if (!el || spec.x.length === 0) return;
    var xAxis = { label: spec.xLabel };
    var xSeries = {};
    if (spec.xKind === 'nines') {
      xAxis.splits = function (u, i, min, max) {
        var out = [];
        for (var n = Math.ceil(min); n <= max; n++) out.push(n);
        return out;
      };
      xAxis.values = function (u, vals) { return vals.map(ninesLabel); };
      xSeries.value = function (u, v) { return v == null ? '' : ninesLabel(v); };
    }
    var opts = {
      title: spec.title,
      width: widthFor(el),
      height: 320,
      scales: { x: { time: false } },
      axes: [xAxis, { label: spec.yLabel, size: fitLabels }],
      series: [xSeries].concat(spec.series.map(function (s) {
        var out = { label: s.label, stroke: s.color, width: 2, spanGaps: true, points: { show: false } };
        if (s.dash) out.dash = [6, 4];
        return out;
      })),
    };
    var plot = new uPlot(opts, [spec.x].concat(spec.series.map(function (s) { return s.values; })), el);
    plots.push({ plot: plot, el: el });
  });
  if (typeof window === 'undefined') return;
  window.tickstormCharts = plots.map(function (entry) { return entry.plot; });
  // A phone turned sideways, a window resized: the charts follow their containers.
  window.addEventListener('resize', function () {
    plots.forEach(function (entry) {
      var width = widthFor(entry.el);
      if (width !== entry.plot.width) entry.plot.setSize({ width: width, height: 320 });
    });
  });
})();
`

// A wide summary table scrolls inside itself (display: block makes the table its own scroll box),
// so a phone never scrolls the whole page sideways. Values never wrap: "9.30 ms" on two lines
// reads as two numbers; a no-break space holds each unit to its number as well (keepUnits).
const PAGE_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
@media (max-width: 640px) { body { margin: 12px; } }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #555; } .meta td { padding: 1px 12px 1px 0; white-space: pre-line; }
.meta td:first-child { white-space: nowrap; } .meta td + td { overflow-wrap: anywhere; }
table.summary { border-collapse: collapse; margin: 8px 0; display: block; max-width: 100%; overflow-x: auto; font-size: 13px; }
table.summary th, table.summary td { border-bottom: 1px solid #ddd; padding: 4px 6px; text-align: right; }
table.summary td { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.summary th:first-child, table.summary td:first-child { text-align: left; }
.invalid { color: #b00020; font-weight: 600; border: 2px solid #b00020; padding: 8px 12px; margin: 12px 0; }
.passed { color: #1b7f3b; font-weight: 700; } .failed { color: #b00020; font-weight: 700; }
.verdict { color: #b00020; margin: -0.4em 0 1em; }
.chart { margin: 12px 0 24px; }
`

export interface PageParts {
  readonly title: string
  /** Already-escaped HTML for the body, above the charts. */
  readonly bodyHtml: string
  readonly charts: readonly ChartSpec[]
  readonly assets?: UplotAssets
}

/** The shared page skeleton: inlined uPlot, the body, one div per chart, the data, the script. */
export function renderPage(parts: PageParts): string {
  const assets = parts.assets ?? loadUplotAssets()
  const chartDivs = parts.charts
    .map((chart) => `<div class="chart" id="chart-${escapeHtml(chart.id)}"></div>`)
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(parts.title)}</title>
<style>${assets.css}</style>
<style>${PAGE_CSS}</style>
</head>
<body>
${parts.bodyHtml}
<h2>Charts</h2>
${chartDivs}
<script>${assets.js.replaceAll('</script', '<\\/script')}</script>
<script type="application/json" id="tickstorm-data">${jsonForScript({ charts: parts.charts })}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`
}

/** "9.30 ms" → "9.30\u00a0ms": a unit stays on its number's line. */
export function keepUnits(text: string): string {
  return text.replace(/(\d) (?=[^\d\s])/g, '$1\u00a0')
}

function row(cells: readonly string[], header = false): string {
  const tag = header ? 'th' : 'td'
  const text = header ? (cell: string) => cell : keepUnits
  return `<tr>${cells.map((cell) => `<${tag}>${escapeHtml(text(cell))}</${tag}>`).join('')}</tr>`
}

function summaryTable(transports: readonly TransportResult[]): string {
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

function thresholdsTable(transports: readonly TransportResult[]): string {
  const rows = transports.flatMap((t) =>
    t.thresholds.map((outcome) =>
      row([
        transportLabel(t.transport),
        outcome.name,
        String(outcome.limit),
        Number.isInteger(outcome.actual) ? String(outcome.actual) : outcome.actual.toPrecision(4),
        outcome.passed ? 'passed' : 'FAILED',
      ]),
    ),
  )
  if (rows.length === 0) return ''
  return `<h2>Thresholds</h2><table class="summary">${row(['transport', 'threshold', 'limit', 'actual', 'outcome'], true)}${rows.join('')}</table>`
}

export function renderReportHtml(
  result: RunResult,
  options: { assets?: UplotAssets } = {},
): string {
  const m = result.machine
  const meta: [string, string][] = [
    ['scenario', `${result.scenario.name} (${result.scenario.file})`],
    ['description', String(result.scenario.parsed['description'] ?? '')],
    [
      'target',
      result.targetKind === undefined
        ? result.target
        : `${result.targetKind} ${result.target}, events from ${result.source === 'harness' ? "the harness's publisher" : 'the server'}${result.channelsPerConnection == null ? '' : `, at most ${result.channelsPerConnection} channels per connection`}`,
    ],
    ['run', `${result.runId}: ${result.startedAt} → ${result.endedAt}`],
    ['machine', `${m.cpuModel} × ${m.cores}, ${formatBytes(m.memoryBytes)}, ${m.os} ${m.kernel}`],
    ['node', result.nodeVersion],
    ['commit', result.commit],
  ]
  const provenance = formatProvenance(result)
  if (provenance !== '') meta.push([result.segment ? 'segment' : 'merged', provenance])
  const warnings = result.transports.flatMap((t) =>
    t.validity.invalidReasons.map(
      (reason) =>
        `<div class="invalid">${escapeHtml(transportLabel(t.transport))} run is INVALID: ${escapeHtml(reason)}. Its latencies are the harness's, not the server's.</div>`,
    ),
  )
  const verdict = verdictOf(result)
  const reasons =
    verdict.reasons.length === 0
      ? ''
      : `<div class="verdict">${verdict.reasons.map(escapeHtml).join('; ')}</div>`
  const body = `<h1>tickstorm: ${escapeHtml(result.scenario.name)} <span class="${result.passed ? 'passed' : 'failed'}">${verdict.label}</span></h1>
${reasons}
<table class="meta">${meta.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${warnings.join('\n')}
<h2>Summary</h2>
${summaryTable(result.transports)}
${thresholdsTable(result.transports)}`
  const page: PageParts = {
    title: `tickstorm: ${result.scenario.name}`,
    bodyHtml: body,
    charts: runCharts(result),
  }
  return renderPage(options.assets ? { ...page, assets: options.assets } : page)
}
