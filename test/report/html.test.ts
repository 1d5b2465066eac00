import { runInNewContext } from 'node:vm'
import { describe, expect, test } from 'vitest'
import {
  alignSeries,
  type ChartSpec,
  escapeHtml,
  jsonForScript,
  loadUplotAssets,
  renderReportHtml,
  toNines,
} from '../../src/report/html.js'
import { buildTransportResult } from '../../src/report/result-schema.js'
import { context, measure, runResult } from './fixtures.js'

const EVIL = '<script>alert("x")</script>&'

function report(overrides: Parameters<typeof runResult>[1] = {}) {
  const sse = buildTransportResult(measure('sse'), context())
  const ws = buildTransportResult(
    measure('ws', { scale: 2 }),
    context({ harness: { cpuPercentSamples: [195, 195, 195, 195, 195], cpuUs: 1, cores: 2 } }),
  )
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

  test('the drawing script runs and hands uPlot aligned data for every chart', () => {
    const scripts = [...html.matchAll(/<script>(.*?)<\/script>/gs)].map((m) => m[1]!)
    const clientScript = scripts.at(-1)!
    const drawn: { opts: { title: string; series: unknown[] }; data: unknown[][] }[] = []
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
    }
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

describe('helpers', () => {
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
