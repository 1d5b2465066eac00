/**
 * The page every tickstorm HTML file shares (report.html, the compare page): one self-contained
 * file that opens offline (from a CI artifact, an e-mail, a laptop on a plane). uPlot's JS and CSS
 * are read from node_modules and inlined, the data rides along as JSON in a non-executing script
 * tag, and every interpolated string is escaped: a scenario name or error kind is user text, and a
 * report is exactly the file people open without thinking. The numbers live in tables, so the
 * page reads without JavaScript; the charts are drawn over them.
 */

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { DistributionPoint } from './result-schema.js'

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

/** "9.30 ms" → "9.30\u00a0ms": a unit stays on its number's line. */
export function keepUnits(text: string): string {
  return text.replace(/(\d) (?=[^\d\s])/g, '$1\u00a0')
}

/** One escaped table row; value cells keep their units on their numbers' line. */
export function tableRow(cells: readonly string[], header = false): string {
  const tag = header ? 'th' : 'td'
  const text = header ? (cell: string) => cell : keepUnits
  return `<tr>${cells.map((cell) => `<${tag}>${escapeHtml(text(cell))}</${tag}>`).join('')}</tr>`
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

/** A moment marked across a time chart: a vertical line with its label (a fault, an abort). */
export interface ChartMark {
  readonly x: number
  readonly label: string
  readonly color: string
}

export interface ChartSpec {
  readonly id: string
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly xKind: ChartXKind
  readonly x: readonly number[]
  readonly series: readonly ChartSeries[]
  /** Drawn as vertical lines; the x scale widens to show every one. */
  readonly marks?: readonly ChartMark[]
  /** Plain text under the chart: its figures in words, for a reader without the canvas. */
  readonly caption?: string
  /**
   * The y axis starts at 0 rather than near the smallest value: for a share (CPU) or a count,
   * where uPlot's fitted range would make 30 % → 35 % look like a climb from nothing.
   */
  readonly yFromZero?: true
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
 *
 * Marks are drawn in uPlot's `draw` hook, over the series, in canvas (device) pixels; labels of
 * marks close together are staggered down three rows so they do not print over each other, and
 * a label that would leave the plot on the right is set to the left of its line.
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
  function marksPlugin(marks) {
    return { hooks: { draw: function (u) {
      var ctx = u.ctx, box = u.bbox, px = uPlot.pxRatio || 1;
      ctx.save();
      ctx.font = Math.round(11 * px) + 'px system-ui, sans-serif';
      ctx.textBaseline = 'top';
      marks.forEach(function (mark, i) {
        var x = Math.round(u.valToPos(mark.x, 'x', true));
        if (x < box.left - 1 || x > box.left + box.width + 1) return;
        ctx.strokeStyle = mark.color;
        ctx.fillStyle = mark.color;
        ctx.lineWidth = 2 * px;
        ctx.setLineDash([6 * px, 3 * px]);
        ctx.beginPath();
        ctx.moveTo(x, box.top);
        ctx.lineTo(x, box.top + box.height);
        ctx.stroke();
        var width = ctx.measureText(mark.label).width;
        var right = x + 4 * px + width > box.left + box.width;
        ctx.textAlign = right ? 'right' : 'left';
        ctx.fillText(mark.label, right ? x - 4 * px : x + 4 * px, box.top + (2 + (i % 3) * 13) * px);
      });
      ctx.restore();
    } } };
  }
  data.charts.forEach(function (spec) {
    var el = document.getElementById('chart-' + spec.id);
    if (!el || spec.x.length === 0) return;
    var marks = spec.marks || [];
    var xAxis = { label: spec.xLabel };
    var xSeries = {};
    var xScale = { time: false };
    if (marks.length > 0) {
      xScale.range = function (u, min, max) {
        marks.forEach(function (mark) { min = Math.min(min, mark.x); max = Math.max(max, mark.x); });
        return min === max ? [min - 1, max + 1] : [min, max];
      };
    }
    if (spec.xKind === 'nines') {
      xAxis.splits = function (u, i, min, max) {
        var out = [];
        for (var n = Math.ceil(min); n <= max; n++) out.push(n);
        return out;
      };
      xAxis.values = function (u, vals) { return vals.map(ninesLabel); };
      xSeries.value = function (u, v) { return v == null ? '' : ninesLabel(v); };
    }
    var scales = { x: xScale };
    if (spec.yFromZero) {
      scales.y = { range: function (u, min, max) { return uPlot.rangeNum(0, max > 0 ? max : 1, 0.1, true); } };
    }
    var opts = {
      title: spec.title,
      width: widthFor(el),
      height: 320,
      scales: scales,
      axes: [xAxis, { label: spec.yLabel, size: fitLabels }],
      series: [xSeries].concat(spec.series.map(function (s) {
        var out = { label: s.label, stroke: s.color, width: 2, spanGaps: true, points: { show: false } };
        if (s.dash) out.dash = [6, 4];
        return out;
      })),
      plugins: marks.length > 0 ? [marksPlugin(marks)] : [],
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
.explain { max-width: 60em; color: #333; } .explain dt { font-weight: 600; } .explain dd { margin: 0 0 6px 1.5em; }
figure.chart-figure { margin: 12px 0 24px; } figure.chart-figure figcaption { color: #555; font-size: 13px; max-width: 60em; }
.chart { margin: 0 0 4px; }
`

export interface PageParts {
  readonly title: string
  /** Already-escaped HTML for the body, above the charts. */
  readonly bodyHtml: string
  readonly charts: readonly ChartSpec[]
  readonly assets?: UplotAssets
}

/**
 * A chart's place on the page: a figure whose div uPlot draws into, named for assistive
 * technology (the canvas itself says nothing), with its caption in text under it.
 */
function chartFigure(chart: ChartSpec): string {
  const name = `${chart.title}: ${chart.yLabel} by ${chart.xLabel}`
  const caption =
    chart.caption === undefined ? '' : `<figcaption>${escapeHtml(chart.caption)}</figcaption>`
  return `<figure class="chart-figure"><div class="chart" id="chart-${escapeHtml(chart.id)}" role="img" aria-label="${escapeHtml(name)}"></div>${caption}</figure>`
}

/** The shared page skeleton: inlined uPlot, the body, one figure per chart, the data, the script. */
export function renderPage(parts: PageParts): string {
  const assets = parts.assets ?? loadUplotAssets()
  const chartFigures = parts.charts.map(chartFigure).join('\n')
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
<noscript><p>The charts are drawn by the page's script; every figure they show is in the tables above.</p></noscript>
${chartFigures}
<script>${assets.js.replaceAll('</script', '<\\/script')}</script>
<script type="application/json" id="tickstorm-data">${jsonForScript({ charts: parts.charts })}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`
}
