import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type Comparison,
  compareResults,
  formatComparison,
  renderComparisonHtml,
} from '../../src/report/compare.js'
import { type LoadedResult, readResultDir } from '../../src/report/read-result.js'
import { writeResultDir } from '../../src/report/write-result.js'
import { fullRun } from './fixtures.js'

let root: string
let baseline: LoadedResult
let slower: LoadedResult
let same: LoadedResult

async function saved(name: string, scales: Parameters<typeof fullRun>[0]): Promise<LoadedResult> {
  const { result, hlogs } = fullRun(scales)
  await writeResultDir(join(root, name), result, hlogs)
  return readResultDir(join(root, name))
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tickstorm-compare-'))
  baseline = await saved('a', { sse: 1, ws: 1 })
  slower = await saved('b', { sse: 1.2, ws: 1 }) // every sse latency 20% higher
  same = await saved('c', { sse: 1, ws: 1 })
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

function changesOf(comparison: Comparison, transport: string) {
  return Object.fromEntries(
    comparison.transports.find((t) => t.transport === transport)!.changes.map((c) => [c.metric, c]),
  )
}

describe('compareResults', () => {
  test('finds a regression on a shifted histogram, with the right relative change', () => {
    const comparison = compareResults(baseline, slower)
    expect(comparison.regression).toBe(true)
    const sse = changesOf(comparison, 'sse')
    expect(sse['p50']).toMatchObject({ baseline: 5003, candidate: 6003, verdict: 'worse' })
    expect(sse['p50']!.relative).toBeCloseTo(0.2, 3)
    for (const metric of ['p90', 'p99', 'p99.9']) {
      expect(sse[metric]!.relative).toBeCloseTo(0.2, 2)
      expect(sse[metric]!.verdict).toBe('worse')
    }
    expect(sse['deliveries/s']).toMatchObject({ delta: 0, relative: 0, verdict: 'same' })
    expect(comparison.transports.find((t) => t.transport === 'sse')!.regression).toBe(true)
    // ws did not change.
    expect(comparison.transports.find((t) => t.transport === 'ws')!.regression).toBe(false)
    expect(Object.values(changesOf(comparison, 'ws')).every((c) => c.delta === 0)).toBe(true)
  })

  test('the reverse comparison is an improvement, not a regression', () => {
    const comparison = compareResults(slower, baseline)
    expect(comparison.regression).toBe(false)
    expect(changesOf(comparison, 'sse')['p99']!.verdict).toBe('better')
    expect(changesOf(comparison, 'sse')['p99']!.relative).toBeCloseTo(-1 / 6, 2)
  })

  test('identical runs compare as the same; a wider noise band hides a small shift', () => {
    expect(compareResults(baseline, same).regression).toBe(false)
    expect(compareResults(baseline, slower, { noiseRatio: 0.25 }).regression).toBe(false)
  })

  test('transports in only one run are listed', async () => {
    const wsOnly = await saved('d', { ws: 1 })
    const comparison = compareResults(baseline, wsOnly)
    expect(comparison.onlyInBaseline).toEqual(['sse'])
    expect(comparison.onlyInCandidate).toEqual([])
    expect(comparison.transports.map((t) => t.transport)).toEqual(['ws'])
  })
})

describe('comparison rendering', () => {
  test('a table per transport with absolute and relative change', () => {
    const text = formatComparison(compareResults(baseline, slower))
    expect(text).toContain(
      [
        'SSE  REGRESSION',
        '',
        'metric        baseline  candidate    change  relative  verdict',
        '------------  --------  ---------  --------  --------  -------',
        'p50            5.00 ms    6.00 ms  +1.00 ms    +20.0%    worse',
      ].join('\n'),
    )
    expect(text).toContain('deliveries/s    10,000     10,000        ±0     ±0.0%     same')
    expect(text.endsWith('REGRESSION (beyond ±5% noise)')).toBe(true)
  })

  test('an offline HTML page with overlaid baseline and candidate curves', () => {
    const html = renderComparisonHtml(compareResults(baseline, slower))
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i)
    const data = JSON.parse(
      /<script type="application\/json" id="tickstorm-data">(.*?)<\/script>/s.exec(html)![1]!,
    )
    const chart = data.charts[0]
    expect(chart.xKind).toBe('nines')
    expect(
      chart.series.map((s: { label: string; dash?: boolean }) => [s.label, s.dash ?? false]),
    ).toEqual([
      ['SSE baseline', true],
      ['SSE candidate', false],
      ['WebSocket baseline', true],
      ['WebSocket candidate', false],
    ])
    expect(chart.series[0].values[0]).toBe(0.001)
    expect(chart.series[1].values[0]).toBe(0.001) // 1 µs × 1.2 rounds to 1 µs
    expect(html).toContain('<span class="failed">REGRESSION</span>')
  })
})
