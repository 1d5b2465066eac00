import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  alignSeries,
  type ChartSpec,
  escapeHtml,
  jsonForScript,
  keepUnits,
  loadUplotAssets,
  renderReportHtml,
  toNines,
} from '../../src/report/html.js'
import { buildTransportResult } from '../../src/report/transport-result.js'
import { type Browser, launchBrowser } from '../web/browser.js'
import { context, measure, runResult, saturated } from './fixtures.js'

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
    expect(charts.map((chart) => chart.id)).toEqual([
      'latency-distribution',
      'deliveries',
      'p99',
      'connections',
    ])
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
    for (const id of ['latency-distribution', 'deliveries', 'p99', 'connections']) {
      expect(html).toContain(`<div class="chart" id="chart-${id}"></div>`)
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
  let browser: Browser
  let dir: string
  let url: string

  beforeAll(async () => {
    browser = await launchBrowser()
    dir = mkdtempSync(join(tmpdir(), 'tickstorm-report-'))
    const file = join(dir, 'report.html')
    writeFileSync(file, report().html)
    url = pathToFileURL(file).href
  })

  afterAll(async () => {
    await browser?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

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
      const { page, errors } = await browser.newPage()
      await page.setViewportSize({ width, height: 900 })
      await page.goto(url)
      await page.waitForFunction('window.tickstormCharts?.length === 4')
      const measured = (await page.evaluate(MEASURE)) as Measured

      expect(measured.axes.map((axis) => axis.label)).toEqual([
        'latency (ms)',
        'deliveries/s',
        'p99 (ms)',
        'connections',
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
      await page.screenshot({ path: join(dir, `report-${width}.png`), fullPage: true })
      expect(errors).toEqual([])
      await page.close()
    })
  }
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
