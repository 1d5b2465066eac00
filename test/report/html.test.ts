import { join } from 'node:path'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { renderReportHtml } from '../../src/report/html.js'
import { ABORT_MARK_COLOR, FAULT_MARK_COLOR } from '../../src/report/html-charts.js'
import {
  alignSeries,
  type ChartSpec,
  escapeHtml,
  jsonForScript,
  keepUnits,
  loadUplotAssets,
  toNines,
} from '../../src/report/html-page.js'
import { buildTransportResult } from '../../src/report/transport-result.js'
import { type ReportInChromium, reportInChromium } from '../helpers/report-in-chromium.js'
import { ARRIVALS, context, measure, runResult, saturated } from './fixtures.js'
import { ABORT_AT_SEC, DROP_AT_SEC, stormRun } from './html-fixtures.js'

const EVIL = '<script>alert("x")</script>&'

function report(overrides: Parameters<typeof runResult>[1] = {}) {
  const sse = buildTransportResult(measure('sse'), context())
  const ws = buildTransportResult(measure('ws', { scale: 2 }), saturated(195))
  const result = runResult([sse, ws], {
    scenario: {
      name: EVIL,
      file: 'evil.yaml',
      parsed: { description: 'a "quoted" <b>description</b>' },
    },
    ...overrides,
  })
  return { result, html: renderReportHtml(result) }
}

function embeddedData(html: string): { charts: ChartSpec[] } {
  const match = /<script type="application\/json" id="tickstorm-data">(.*?)<\/script>/s.exec(html)
  expect(match).not.toBeNull()
  return JSON.parse(match![1]!)
}

describe('report.html', () => {
  const { html } = report()

  test('inlines uPlot, so it opens offline: no external script, stylesheet or image', () => {
    const assets = loadUplotAssets()
    expect(assets.js.length).toBeGreaterThan(40_000)
    expect(html).toContain(assets.js)
    expect(html).toContain(assets.css)
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i)
    expect(html).not.toMatch(/<link[^>]*\shref=/i)
    expect(html).not.toMatch(/<img[^>]*\ssrc=/i)
    expect(html).not.toMatch(/(src|href)=["']?https?:\/\//i)
  })

  test('escapes every interpolated string', () => {
    expect(html).not.toContain('<script>alert')
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;')
    expect(html).toContain('a &quot;quoted&quot; &lt;b&gt;description&lt;/b&gt;')
    // One script per part: uPlot, the data, the drawing code; nothing else got in.
    expect(html.match(/<script/g)).toHaveLength(3)
  })

  test('carries the charts data: distribution on a nines axis, time series per transport', () => {
    const { charts } = embeddedData(html)
    // No server samples (a result before schema 6): no CPU or memory chart; no faults: no marks.
    expect(charts.map((chart) => chart.id)).toEqual([
      'latency-distribution',
      'deliveries',
      'p99',
      'connections',
      'errors',
    ])
    for (const chart of charts) expect(chart.marks, chart.id).toBeUndefined()
    const distribution = charts[0]!
    expect(distribution.xKind).toBe('nines')
    expect(distribution.series.map((s) => s.label)).toEqual(['SSE', 'WebSocket'])
    expect(distribution.x[0]).toBe(0)
    expect(distribution.x[10]).toBe(1) // p90
    expect(distribution.x[20]).toBe(2) // p99
    // p99 of 1..10,000 µs is 9.9 ms; the ws run recorded everything twice as slow.
    expect(distribution.series[0]!.values[20]).toBe(9.903)
    expect(distribution.series[1]!.values[20]).toBe(19.807)
    const deliveries = charts[1]!
    expect(deliveries.x).toEqual([0, 1, 2])
    expect(deliveries.series.map((s) => s.values)).toEqual([
      [10_000, 10_000, 10_000],
      [10_000, 10_000, 10_000],
    ])
    expect(charts[3]!.series[0]!.values).toEqual([100, 100, 100])
    expect(charts[4]!.series.map((s) => s.label)).toEqual([
      'SSE errors',
      'SSE reconnects',
      'WebSocket errors',
      'WebSocket reconnects',
    ])
    for (const id of ['latency-distribution', 'deliveries', 'p99', 'connections', 'errors']) {
      expect(html).toContain(`<div class="chart" id="chart-${id}" role="img" aria-label="`)
    }
  })

  test('shows the machine, commit and scenario, and the invalid run in red', () => {
    expect(html).toContain('<td>commit</td><td>fe3c4ba</td>')
    expect(html).toContain('<td>node</td><td>v20.20.0</td>')
    expect(html).toContain('AMD EPYC × 2, 24.00 GiB, linux 6.1.0')
    expect(html).toContain(
      '<div class="invalid">WebSocket run is INVALID: harness CPU was ≥ 90% of its 2 core(s) for 5 s in a row: the harness, not the server, was saturated.',
    )
    expect(html).toMatch(/\.invalid \{ color: #b00020/)
    expect(html).toContain('<span class="passed">PASSED</span>')
  })

  test('an interrupted run is headed INTERRUPTED, with where the signal came and what was left out', () => {
    const { html: interrupted } = report({
      schemaVersion: 2,
      interrupted: true,
      interruption: { signal: 'SIGINT', transport: 'ws', phase: 'measuring', notMeasured: [] },
      passed: false,
    })
    expect(interrupted).toContain('<span class="failed">INTERRUPTED</span>')
    expect(interrupted).toContain('<div class="verdict">SIGINT during the ws measurement')
  })

  test('the drawing script runs and hands uPlot aligned data for every chart', () => {
    const scripts = [...html.matchAll(/<script>(.*?)<\/script>/gs)].map((m) => m[1]!)
    const clientScript = scripts.at(-1)!
    const drawn: {
      opts: { title: string; series: unknown[]; axes: { label: string; size?: unknown }[] }
      data: unknown[][]
    }[] = []
    const elements: Record<string, unknown> = {
      'tickstorm-data': { textContent: jsonForScript(embeddedData(html)) },
    }
    runInNewContext(clientScript, {
      document: { getElementById: (id: string) => elements[id] ?? { clientWidth: 900 } },
      uPlot: function uPlot(opts: (typeof drawn)[number]['opts'], data: unknown[][]) {
        drawn.push({ opts, data })
      },
      Math,
    })
    expect(drawn.map((d) => d.opts.title)).toEqual([
      'Latency by percentile',
      'Deliveries per second',
      'p99 latency over time',
      'Connections over time',
      'Errors (solid) and reconnects (dashed) over time',
    ])
    for (const { opts, data } of drawn) {
      expect(data).toHaveLength(opts.series.length)
      for (const column of data) expect(column).toHaveLength(data[0]!.length)
      // The y axis is sized to its labels (measured in Chromium below), not uPlot's fixed 50 px.
      expect(typeof opts.axes[1]!.size, opts.axes[1]!.label).toBe('function')
    }
  })

  test('value cells hold a unit to its number: a no-break space, and no wrapping', () => {
    const cells = [...html.matchAll(/<td>([^<]*)<\/td>/g)].map((match) => match[1]!)
    expect(cells.filter((cell) => /\d\u00a0(ms|µs|s|KiB)$/.test(cell)).length).toBeGreaterThan(10)
    expect(cells.filter((cell) => /\d (ms|µs|s|KiB|MiB|B)$/.test(cell))).toEqual([])
    expect(html).toMatch(/table\.summary td \{ white-space: nowrap;/)
  })

  test('a result without reconnects per interval (before schema 6) draws its errors alone', () => {
    const { result } = report()
    for (const t of result.transports) {
      t.timeSeries = t.timeSeries.map(({ reconnects: _none, ...point }) => point)
    }
    const errors = embeddedData(renderReportHtml(result)).charts.find((c) => c.id === 'errors')!
    expect(errors.series.map((s) => [s.label, s.dash === true])).toEqual([
      ['SSE errors', false],
      ['WebSocket errors', false],
    ])
    expect(errors.caption).toBe(
      'SSE 0 errors in the intervals; WebSocket 0 errors in the intervals.',
    )
  })

  test('a capacity run adds the capacity curve chart', () => {
    const { html: capacityHtml } = report({
      capacity: [
        {
          transport: 'sse',
          maxPassingSubscribers: 1000,
          curve: [
            { subscribers: 500, p99Us: 9000, lossRatio: 0, errorRate: 0, passed: true },
            { subscribers: 1000, p99Us: 30_000, lossRatio: 0, errorRate: 0, passed: true },
          ],
        },
      ],
    })
    const capacity = embeddedData(capacityHtml).charts.at(-1)!
    expect(capacity).toMatchObject({ id: 'capacity', x: [500, 1000] })
    expect(capacity.series[0]!.values).toEqual([9, 30])
  })
})

/**
 * The report as a reader sees it: opened from a file in Debian's headless Chromium, at a phone's
 * width and a desktop's. uPlot draws on a canvas, so the axes are measured from the plots' own
 * geometry and the canvas's text metrics.
 */
describe('report.html in Chromium', () => {
  let opened: ReportInChromium | undefined

  beforeAll(async () => {
    opened = await reportInChromium(report().html)
  })

  afterAll(() => opened?.close())

  // A string: it runs in the page (see test/web/page-state.ts).
  const MEASURE = `(() => {
    const ctx = document.createElement('canvas').getContext('2d')
    const axes = window.tickstormCharts.map((u) => {
      const axis = u.axes[1]
      ctx.font = axis.font[0]
      const widest = Math.max(...axis._values.map((v) => ctx.measureText(v).width)) / uPlot.pxRatio
      // Left to right: the rotated axis title's band (labelSize), then the tick labels, right
      // aligned at the plot's left edge less the tick and the gap.
      const plotLeft = u.over.offsetLeft
      return {
        label: axis.label,
        values: axis._values,
        labelsLeft: plotLeft - axis.ticks.size - axis.gap - widest,
        titleRight: axis.labelSize,
        chartRight: u.root.getBoundingClientRect().right,
      }
    })
    const cells = [...document.querySelectorAll('table.summary td')].map((td) => {
      const range = document.createRange()
      range.selectNodeContents(td)
      const tops = new Set([...range.getClientRects()].map((rect) => Math.round(rect.top)))
      return { text: td.textContent, lines: tops.size }
    })
    return {
      axes,
      cells,
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }
  })()`

  interface Measured {
    axes: {
      label: string
      values: string[]
      labelsLeft: number
      titleRight: number
      chartRight: number
    }[]
    cells: { text: string; lines: number }[]
    scrollWidth: number
    innerWidth: number
  }

  for (const width of [390, 1400]) {
    test(`at ${width} px: y-axis titles clear of their numbers, value cells on one line, no sideways scroll`, async () => {
      const { page, errors } = await opened!.browser.newPage()
      await page.setViewportSize({ width, height: 900 })
      await page.goto(opened!.url)
      await page.waitForFunction('window.tickstormCharts?.length === 5')
      const measured = (await page.evaluate(MEASURE)) as Measured

      expect(measured.axes.map((axis) => axis.label)).toEqual([
        'latency (ms)',
        'deliveries/s',
        'p99 (ms)',
        'connections',
        'count per 1 s interval',
      ])
      for (const axis of measured.axes) {
        expect(axis.values.length, axis.label).toBeGreaterThan(1)
        expect(axis.labelsLeft, `${axis.label}: ${axis.values.join(' ')}`).toBeGreaterThanOrEqual(
          axis.titleRight,
        )
        expect(axis.chartRight, axis.label).toBeLessThanOrEqual(width)
      }
      // "10,000" is the widest deliveries/s label of the fixture: the case that overlapped.
      expect(measured.axes[1]!.values).toContain('10,000')
      expect(measured.cells.length).toBeGreaterThan(20)
      for (const cell of measured.cells) expect(cell.lines, cell.text).toBe(1)
      // The wide summary scrolls inside its own box; the page does not.
      expect(measured.scrollWidth).toBeLessThanOrEqual(measured.innerWidth)
      await page.screenshot({ path: join(opened!.dir, `report-${width}.png`), fullPage: true })
      expect(errors).toEqual([])
      await page.close()
    })
  }
})

const TIME_CHARTS = ['deliveries', 'p99', 'connections', 'errors', 'server-cpu', 'server-memory']

describe('report.html of a schema 6 run: a drop at 2 s, an abort at 5 s, server samples', () => {
  const result = stormRun()
  const html = renderReportHtml(result)
  const { charts } = embeddedData(html)
  const byId = new Map(charts.map((chart) => [chart.id, chart]))

  test('server CPU and memory over time, per transport, with their figures in words', () => {
    expect(charts.map((chart) => chart.id)).toEqual(['latency-distribution', ...TIME_CHARTS])
    const cpu = byId.get('server-cpu')!
    expect(cpu.x).toEqual([1, 2, 3, 4, 5, 6])
    // The sampler's CPU since the previous sample: the drop's second ends at 3 s.
    expect(cpu.series.map((s) => [s.label, s.values])).toEqual([
      ['SSE', [30, 31, 90, 33, 34, 35]],
      ['WebSocket', [60, 62, 180, 66, 68, 70]],
    ])
    expect(cpu.yLabel).toBe('CPU (% of one core)')
    expect(cpu.caption).toContain(
      'SSE mean 42 %, peak 90 % at 3 s; WebSocket mean 84 %, peak 180 % at 3 s.',
    )
    const memory = byId.get('server-memory')!
    expect(memory.series[0]!.values).toEqual([60, 61, 62, 63, 64, 65])
    expect(memory.yLabel).toBe('RSS (MiB)')
    expect(memory.caption).toContain('SSE from 60.0 MiB to a peak of 65.0 MiB at 6 s')
  })

  test('errors (solid) and reconnects (dashed) per interval, per transport', () => {
    const errors = byId.get('errors')!
    expect(errors.series.map((s) => [s.label, s.dash === true, s.values])).toEqual([
      ['SSE errors', false, [0, 0, 3, 0, 0, 0]],
      ['SSE reconnects', true, [0, 0, 20, 0, 0, 0]],
      ['WebSocket errors', false, [0, 0, 3, 0, 0, 0]],
      ['WebSocket reconnects', true, [0, 0, 20, 0, 0, 0]],
    ])
    // A transport's errors and reconnects share its colour; the dash tells them apart.
    expect(errors.series[0]!.color).toBe(errors.series[1]!.color)
    expect(errors.series[0]!.color).not.toBe(errors.series[2]!.color)
    expect(errors.caption).toContain(
      'SSE 3 errors in the intervals (most, 3, in the interval at 2 s), 20 reconnects (most, 20, at 2 s)',
    )
  })

  test('the fault and the abort are marked on every time axis, and only there', () => {
    const marks = [
      { x: DROP_AT_SEC, label: 'drop 25 %', color: FAULT_MARK_COLOR },
      {
        x: ABORT_AT_SEC,
        label: 'aborted: errors rate < 0.01 (WebSocket)',
        color: ABORT_MARK_COLOR,
      },
    ]
    for (const id of TIME_CHARTS) {
      expect(byId.get(id)!.marks, id).toEqual(marks)
      expect(byId.get(id)!.caption, id).toContain(
        'Marked: drop 25 % at 2 s; aborted: errors rate < 0.01 (WebSocket) at 5 s.',
      )
    }
    expect(byId.get('latency-distribution')!.marks).toBeUndefined()
  })

  test('a fault fired in only some transports names them on its mark', () => {
    const run = stormRun({ abortedBy: undefined, passed: false })
    run.transports[1]!.faults = [{ atSec: 3, kind: 'stall', fraction: 1 }]
    const marks = embeddedData(renderReportHtml(run)).charts.find((c) => c.id === 'p99')!.marks
    expect(marks).toEqual([
      { x: 2, label: 'drop 25 % (SSE)', color: FAULT_MARK_COLOR },
      { x: 3, label: 'stall (WebSocket)', color: FAULT_MARK_COLOR },
    ])
  })

  test('an open-model run shows its arrivals and its watch-list changes with their acknowledgement times', () => {
    const run = stormRun({ abortedBy: undefined })
    const sse = run.transports[0]!
    sse.arrivals = { ...ARRIVALS, arrivals: 1_234 }
    sse.watchListChanges = {
      changes: 321,
      acknowledgedUs: { ...sse.latencyUs, p50: 2_000, p90: 5_000, p99: 7_000, count: 320 },
    }
    const page = renderReportHtml(run)
    expect(page).toContain('<h2>Arrivals</h2>')
    expect(page).toMatch(/<td>1,234[\s\u00a0]at[\s\u00a0]20\/s<\/td>/)
    expect(page).toMatch(
      /<td>321<\/td><td>2\.00[\s\u00a0]ms<\/td><td>5\.00[\s\u00a0]ms<\/td><td>7\.00[\s\u00a0]ms<\/td>/,
    )
    expect(html).not.toContain('<h2>Arrivals</h2>')
  })

  test('the sections of the newer figures, each present because the result has it', () => {
    expect(html).toContain(
      '<div class="verdict">ABORTED 5 s into the WebSocket measurement: errors rate &lt; 0.01 failed',
    )
    expect(html).toContain('<h2>Recovery after a drop</h2>')
    expect(html).toMatch(/<td>SSE<\/td><td>drop → reconnected<\/td><td>50(\.\d+)?\u00a0ms<\/td>/)
    expect(html).toContain('<h2>Broadcast spread</h2>')
    expect(html).toContain('<h2>Staleness under conflation</h2>')
    expect(html).toContain('<h2>Injected faults</h2>')
    expect(html).toContain('<tr><td>2\u00a0s</td><td>SSE</td><td>drop 25\u00a0%</td><td></td></tr>')
    expect(html).toContain('<td>aborted by errors rate &lt; 0.01</td>')
    expect(html).toContain('<td>latency: p(99) &lt; 100ms</td>')
    expect(html).toContain('passed (aborts on fail)')
    // A result without them (schema 5), or whose harness recorded none (no drop, no sample,
    // no conflation), shows none of these sections.
    const { html: older } = report()
    const empty = stormRun({ abortedBy: undefined })
    for (const t of empty.transports) {
      delete t.faults
      t.recoverySplit = {
        reconnectedUs: { ...t.recoverySplit!.reconnectedUs, count: 0 },
        caughtUpUs: { ...t.recoverySplit!.caughtUpUs, count: 0 },
        firstNewUs: { ...t.recoverySplit!.firstNewUs, count: 0 },
      }
      t.spread = { spreadUs: { ...t.spread!.spreadUs, count: 0 }, incomplete: 0 }
      t.stalenessUs = { ...t.stalenessUs!, count: 0 }
    }
    const quiet = renderReportHtml(empty)
    for (const heading of [
      'Recovery after a drop',
      'Broadcast spread',
      'Staleness',
      'Injected faults',
    ]) {
      expect(older).not.toContain(heading)
      expect(quiet).not.toContain(heading)
    }
    expect(older).not.toContain('ABORTED')
    expect(quiet).not.toContain('ABORTED')
  })
})

/**
 * The schema 6 report drawn by Chromium: every time chart has its series on the canvas and the
 * fault's and the abort's lines at their seconds, read back from the canvas's pixels.
 */
describe('report.html of a schema 6 run in Chromium', () => {
  let opened: ReportInChromium | undefined

  beforeAll(async () => {
    opened = await reportInChromium(renderReportHtml(stormRun()))
  })

  afterAll(() => opened?.close())

  // A string: it runs in the page. Counts the plot area's pixels near a colour: in the columns
  // around each mark's x, and anywhere for the series drawn last (drawn over the others).
  const PIXELS = `(() => {
    const specs = JSON.parse(document.getElementById('tickstorm-data').textContent).charts
    const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
    return window.tickstormCharts.map((u, index) => {
      const spec = specs[index]
      const box = u.bbox
      const image = u.ctx.getImageData(box.left, box.top, box.width, box.height).data
      const count = (hex, from, to) => {
        const [r, g, b] = rgb(hex)
        let n = 0
        for (let y = 0; y < box.height; y++) {
          for (let x = Math.max(0, from); x < Math.min(box.width, to); x++) {
            const i = (y * box.width + x) * 4
            const near = Math.abs(image[i] - r) + Math.abs(image[i + 1] - g) + Math.abs(image[i + 2] - b)
            if (near < 40 && image[i + 3] > 200) n++
          }
        }
        return n
      }
      const marks = (spec.marks || []).map((mark) => {
        const x = Math.round(u.valToPos(mark.x, 'x', true)) - box.left
        return { label: mark.label, at: count(mark.color, x - 2, x + 3) }
      })
      const last = spec.series[spec.series.length - 1]
      return {
        id: spec.id,
        title: u.root.querySelector('.u-title').textContent,
        points: u.data.slice(1).flat().filter((v) => v != null).length,
        lastSeries: count(last.color, 0, box.width),
        yMin: u.scales.y.min,
        marks,
      }
    })
  })()`

  interface Drawn {
    id: string
    title: string
    points: number
    lastSeries: number
    yMin: number
    marks: { label: string; at: number }[]
  }

  test('every chart draws its data, and every time chart the fault and abort lines', async () => {
    const { page, errors } = await opened!.browser.newPage()
    await page.setViewportSize({ width: 1200, height: 900 })
    await page.goto(opened!.url)
    await page.waitForFunction('window.tickstormCharts?.length === 7')
    const drawn = (await page.evaluate(PIXELS)) as Drawn[]
    expect(drawn.map((chart) => chart.id)).toEqual(['latency-distribution', ...TIME_CHARTS])
    for (const chart of drawn) {
      expect(chart.points, chart.id).toBeGreaterThanOrEqual(12)
      expect(chart.lastSeries, `${chart.id}: pixels of its last series`).toBeGreaterThan(20)
      if (chart.id === 'latency-distribution') {
        expect(chart.marks).toEqual([])
        continue
      }
      expect(
        chart.marks.map((mark) => mark.label),
        chart.id,
      ).toEqual(['drop 25 %', 'aborted: errors rate < 0.01 (WebSocket)'])
      for (const mark of chart.marks) {
        // A dashed line down the plot (6 px on, 3 off, 2 px wide): well over 100 pixels.
        expect(mark.at, `${chart.id}: ${mark.label}`).toBeGreaterThan(100)
      }
    }
    // Shares and counts from 0; memory (60 to 65 MiB) on uPlot's fitted range.
    const yMin = Object.fromEntries(drawn.map((chart) => [chart.id, chart.yMin]))
    expect(yMin).toMatchObject({ 'server-cpu': 0, errors: 0, connections: 0 })
    expect(yMin['server-memory']).toBeGreaterThan(50)
    expect(drawn.find((chart) => chart.id === 'server-cpu')!.title).toBe(
      "Server CPU over time (each transport's run)",
    )
    await page.screenshot({ path: join(opened!.dir, 'report6.png'), fullPage: true })
    expect(errors).toEqual([])
    await page.close()
  })
})

describe('helpers', () => {
  test('keepUnits joins a number and its unit with a no-break space', () => {
    expect(keepUnits('9.30 ms')).toBe('9.30\u00a0ms')
    expect(keepUnits('33.7 KiB')).toBe('33.7\u00a0KiB')
    expect(keepUnits('60% of 200%')).toBe('60% of 200%')
    expect(keepUnits('SSE')).toBe('SSE')
  })

  test('escapeHtml and jsonForScript', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    )
    const json = jsonForScript({ s: '</script><!-- \u2028' })
    expect(json).toBe('{"s":"\\u003c/script\\u003e\\u003c!-- \\u2028"}')
    expect(JSON.parse(json)).toEqual({ s: '</script><!-- \u2028' })
  })

  test('alignSeries puts different x values on one axis with gaps', () => {
    expect(
      alignSeries([
        {
          label: 'a',
          color: '#000',
          points: [
            [0, 1],
            [2, 3],
          ],
        },
        {
          label: 'b',
          color: '#111',
          dash: true,
          points: [
            [1, 5],
            [2, 6],
          ],
        },
      ]),
    ).toEqual({
      x: [0, 1, 2],
      series: [
        { label: 'a', color: '#000', values: [1, null, 3] },
        { label: 'b', color: '#111', dash: true, values: [null, 5, 6] },
      ],
    })
    expect(toNines(99.9)).toBeCloseTo(3, 12)
  })
})
