import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import {
  type Comparison,
  compareResults,
  formatComparison,
  renderComparisonHtml,
} from '../../src/report/compare.js'
import { workloadDifferences } from '../../src/report/compare-checks.js'
import { type HlogInterval, sumIntervals } from '../../src/report/hlog.js'
import type { TransportName } from '../../src/report/measurements.js'
import { type LoadedResult, readResultDir } from '../../src/report/read-result.js'
import type { RunResult, TransportResult } from '../../src/report/result-schema.js'
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
        'metric               baseline  candidate     change  relative  verdict',
        '-------------------  --------  ---------  ---------  --------  -------',
        'p50                   5.00 ms    6.00 ms   +1.00 ms    +20.0%    worse',
      ].join('\n'),
    )
    expect(text).toContain(
      [
        'deliveries/s           10,000     10,000         ±0     ±0.0%     same',
        'server CPU/delivery  40.00 µs   40.00 µs   ±0.00 µs     ±0.0%     same',
        'loss ratio             0.000%     0.000%  ±0.000 pp       n/a     same',
        'error rate             0.990%     0.990%  ±0.000 pp     ±0.0%     same',
        'connect p99           2.05 ms    2.05 ms      ±0 µs     ±0.0%     same',
        'recovery p99             0 µs       0 µs      ±0 µs       n/a     same',
      ].join('\n'),
    )
    expect(text).not.toContain('WARNING')
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

/** A parsed scenario as a run records it (defaults filled in), with the keys the check reads. */
function workload() {
  return {
    name: 'fanout',
    description: 'two transports, one load',
    target: 'embedded' as string | Record<string, unknown>,
    server: { preset: 'normal', seed: 1, frameMs: 5, speed: 1, ratePerSec: 250 },
    transports: ['sse', 'ws'],
    subscribers: {
      count: 100,
      rampPerSec: 500,
      watchList: { size: 10, pick: 'zipf', seed: 1 },
      rampSec: null,
    },
    durationSec: 3,
    warmupSec: 5,
    executor: 'constant',
    thresholds: { p99Ms: 50 } as Record<string, unknown>,
    workers: 'auto' as string | number,
    faults: [] as Record<string, unknown>[],
    file: 'scenarios/fanout.yaml',
    phases: undefined as unknown,
    arrivalRate: undefined as unknown,
    capacity: undefined as unknown,
  }
}

type Workload = ReturnType<typeof workload>
type Change = (parsed: Workload, result: RunResult) => void

let measured: ReturnType<typeof fullRun>

/** A run of `workload()` (schema 5, embedded tickstorm), changed by `change`, loaded in memory. */
function run(change: Change = () => {}, dir = 'in-memory'): LoadedResult {
  const parsed = workload()
  const result: RunResult = structuredClone({
    ...measured.result,
    schemaVersion: 5,
    targetKind: 'tickstorm',
    source: 'server',
  })
  change(parsed, result)
  for (const key of Object.keys(parsed) as (keyof Workload)[]) {
    if (parsed[key] === undefined) delete parsed[key]
  }
  result.scenario = { name: parsed.name, file: parsed.file, parsed }
  const intervals = new Map(
    Object.entries(measured.hlogs) as [TransportName, readonly HlogInterval[]][],
  )
  const histograms = new Map(
    [...intervals].map(([transport, list]) => [transport, sumIntervals(list)] as const),
  )
  return { dir, result, intervals, histograms }
}

function transportOf(result: RunResult, transport: TransportName): TransportResult {
  return result.transports.find((t) => t.transport === transport)!
}

describe('the workload check', () => {
  beforeAll(() => {
    measured = fullRun({ sse: 1, ws: 1 })
  })

  const cases: readonly [string, Change, readonly string[]][] = [
    [
      'the subscriber count',
      (parsed, result) => {
        parsed.subscribers.count = 1000
        for (const t of result.transports) t.subscribers.asked = 1000
      },
      [
        'subscribers.count: baseline has 100, candidate has 1000',
        'sse subscribers asked: baseline has 100, candidate has 1000',
        'ws subscribers asked: baseline has 100, candidate has 1000',
      ],
    ],
    [
      'the durations',
      (parsed) => {
        parsed.durationSec = 20
        parsed.warmupSec = 10
      },
      [
        'durationSec: baseline has 3, candidate has 20',
        'warmupSec: baseline has 5, candidate has 10',
      ],
    ],
    [
      'the transports',
      (parsed) => {
        parsed.transports = ['sse']
      },
      ['transports: baseline has ["sse","ws"], candidate has ["sse"]'],
    ],
    [
      'the server options',
      (parsed) => {
        parsed.server.ratePerSec = 500
      },
      ['server.ratePerSec: baseline has 250, candidate has 500'],
    ],
    [
      'the watch-list',
      (parsed) => {
        parsed.subscribers.watchList.pick = 'uniform'
      },
      ['subscribers.watchList.pick: baseline has zipf, candidate has uniform'],
    ],
    [
      'the executor',
      (parsed) => {
        parsed.executor = 'arrival-rate'
        parsed.arrivalRate = { ratePerSec: 5, maxSubscribers: 100, seed: 1 }
      },
      [
        'executor: baseline has constant, candidate has arrival-rate',
        'arrivalRate: baseline has none, candidate has {"ratePerSec":5,"maxSubscribers":100,"seed":1}',
      ],
    ],
    [
      'the phases',
      (parsed) => {
        parsed.phases = [{ durationSec: 3, count: 100, rampSec: 0 }]
      },
      ['phases: baseline has none, candidate has [{"durationSec":3,"count":100,"rampSec":0}]'],
    ],
    [
      'the faults',
      (parsed) => {
        parsed.faults = [{ atSec: 1, kind: 'drop', fraction: 0.5 }]
      },
      ['faults: baseline has [], candidate has [{"atSec":1,"kind":"drop","fraction":0.5}]'],
    ],
    [
      'the target, its kind and the event source',
      (_parsed, result) => {
        result.target = 'http://127.0.0.1:8080'
        result.targetKind = 'nchan'
        result.source = 'harness'
      },
      [
        'target: baseline has embedded, candidate has http://127.0.0.1:8080',
        'target kind: baseline has tickstorm, candidate has nchan',
        'event source: baseline has server, candidate has harness',
      ],
    ],
    [
      'the share of the workload',
      (_parsed, result) => {
        result.segment = { index: 1, count: 2 }
      },
      ['share: baseline has the whole workload, candidate has segment 1/2'],
    ],
    [
      'the seconds measured, beyond 1 s or 5%',
      (_parsed, result) => {
        transportOf(result, 'ws').measuredSec = 6
      },
      ['ws seconds measured: baseline has 3.0, candidate has 6.0'],
    ],
  ]

  test.each(cases)('lists a difference in %s', (_what, change, expected) => {
    expect(workloadDifferences(run(), run(change))).toEqual(expected)
  })

  test('the name, description, file, workers, thresholds and a little measuring are not workload', () => {
    const renamed = run((parsed, result) => {
      parsed.name = 'fanout-renamed'
      parsed.description = 'another name, the same load'
      parsed.file = 'elsewhere/renamed.yaml'
      parsed.workers = 2
      parsed.thresholds = { p99Ms: 10, maxLossRatio: 0 }
      // A window 0.9 s longer, its deliveries at the same rate.
      Object.assign(transportOf(result, 'sse'), { measuredSec: 3.9, deliveries: 39_000 })
    })
    expect(workloadDifferences(run(), renamed)).toEqual([])
    const comparison = compareResults(run(), renamed)
    expect(comparison.workloadDifferences).toEqual([])
    expect(comparison.regression).toBe(false)
    expect(formatComparison(comparison)).toContain(
      'candidate 20251124T060000Z-compare-transports (fanout-renamed',
    )
  })

  test("a target's process and credentials are not workload, and are never shown; its endpoints are", () => {
    const target =
      (token: string, path: string, pid: number) => (parsed: Workload, result: RunResult) => {
        parsed.target = {
          kind: 'generic',
          url: 'http://127.0.0.1:9000/',
          headers: { Authorization: `Bearer ${token}` },
          query: { token },
          pid,
          command: `node server-${pid}.js`,
          sse: { path, resume: 'last-event-id' },
        }
        result.target = 'http://127.0.0.1:9000/'
        result.targetKind = 'generic'
      }
    const a = run(target('secret-one', '/stream', 10))
    expect(workloadDifferences(a, run(target('secret-two', '/stream', 20)))).toEqual([])
    const differences = workloadDifferences(a, run(target('secret-two', '/events', 20)))
    expect(differences).toEqual(['target.sse.path: baseline has /stream, candidate has /events'])
  })

  test('refused without force: TS_ERR_USAGE with every difference', () => {
    const larger = run((parsed, result) => {
      parsed.subscribers.count = 1000
      transportOf(result, 'sse').subscribers.asked = 1000
    })
    let refusal: unknown
    try {
      compareResults(run(), larger)
    } catch (error) {
      refusal = error
    }
    expect(refusal).toBeInstanceOf(TickstormError)
    const error = refusal as TickstormError
    expect(error.code).toBe('TS_ERR_USAGE')
    expect(error.message).toContain(
      'cannot compare: these runs did not carry the same workload:\n  - subscribers.count: baseline has 100, candidate has 1000\n  - sse subscribers asked: baseline has 100, candidate has 1000\n',
    )
    expect(error.message).toContain('pass --force')
    expect(error.details?.['problems']).toHaveLength(2)
  })

  test('forced: the comparison opens with a loud WARNING, in text and HTML', () => {
    const larger = run((parsed) => {
      parsed.subscribers.count = 1000
    })
    const comparison = compareResults(run(), larger, { force: true })
    expect(comparison.workloadDifferences).toEqual([
      'subscribers.count: baseline has 100, candidate has 1000',
    ])
    const text = formatComparison(comparison)
    expect(
      text.startsWith(
        'WARNING: these runs did not carry the same workload:\n  - subscribers.count: baseline has 100, candidate has 1000\n\nbaseline ',
      ),
    ).toBe(true)
    expect(
      text.endsWith(
        'no regression beyond ±5% noise, between runs of different workloads (see the WARNING above)',
      ),
    ).toBe(true)
    const html = renderComparisonHtml(comparison)
    expect(html).toContain(
      '<div class="invalid">WARNING: these runs did not carry the same workload:<ul><li>subscribers.count: baseline has 100, candidate has 1000</li></ul>',
    )
    expect(renderComparisonHtml(compareResults(run(), run()))).not.toContain('WARNING')
  })
})

describe('the figures beside latency', () => {
  beforeAll(() => {
    measured = fullRun({ sse: 1, ws: 1 })
  })

  function sseChanges(change: (sse: TransportResult) => void) {
    const comparison = compareResults(
      run(),
      run((_parsed, result) => change(transportOf(result, 'sse'))),
    )
    return { comparison, sse: changesOf(comparison, 'sse') }
  }

  test('server CPU per delivery: its CPU over the measurement / deliveries; more is worse', () => {
    const { comparison, sse } = sseChanges((t) => {
      t.server = { ...t.server!, cpuPercentAvg: 60 }
    })
    // 40% of a core over 3 s is 1.2 s of CPU for 30,000 deliveries: 40 µs each; 60% is 60 µs.
    expect(sse['server CPU/delivery']!.baseline).toBeCloseTo(40, 6)
    expect(sse['server CPU/delivery']!.candidate).toBeCloseTo(60, 6)
    expect(sse['server CPU/delivery']!.verdict).toBe('worse')
    expect(sse['server CPU/delivery']!.relative).toBeCloseTo(0.5, 6)
    expect(comparison.regression).toBe(true)
    expect(formatComparison(comparison)).toContain(
      'server CPU/delivery  40.00 µs   60.00 µs  +20.00 µs    +50.0%    worse',
    )
  })

  test('without a server sample on one side there is no CPU figure', () => {
    const { sse } = sseChanges((t) => {
      t.server = null
    })
    expect(sse['server CPU/delivery']).toBeUndefined()
  })

  test('loss from none is worse whatever its size (no relative change from 0)', () => {
    const { comparison, sse } = sseChanges((t) => {
      t.lossRatio = 0.001
    })
    expect(sse['loss ratio']).toMatchObject({
      baseline: 0,
      candidate: 0.001,
      relative: null,
      verdict: 'worse',
    })
    expect(comparison.transports.find((t) => t.transport === 'sse')!.regression).toBe(true)
    expect(formatComparison(comparison)).toContain(
      'loss ratio             0.000%     0.100%  +0.100 pp       n/a    worse',
    )
  })

  test('error rate: doubled is worse, within the noise band the same', () => {
    expect(
      sseChanges((t) => {
        t.errorRate *= 2
      }).sse['error rate'],
    ).toMatchObject({ relative: 1, verdict: 'worse' })
    const within = sseChanges((t) => {
      t.errorRate *= 0.96
    })
    expect(within.sse['error rate']!.verdict).toBe('same')
    expect(within.comparison.regression).toBe(false)
  })

  test('connect and recovery p99: lower is better, higher worse', () => {
    const { comparison, sse } = sseChanges((t) => {
      t.connectTimeUs = { ...t.connectTimeUs, p99: 1000 }
      t.recoveryUs = { ...t.recoveryUs, p99: 5000, count: 3 }
    })
    expect(sse['connect p99']).toMatchObject({ candidate: 1000, verdict: 'better' })
    expect(sse['recovery p99']).toMatchObject({ baseline: 0, candidate: 5000, verdict: 'worse' })
    expect(comparison.regression).toBe(true)
  })

  test('more deliveries/s is better, fewer worse', () => {
    expect(
      sseChanges((t) => {
        t.deliveriesPerSec = 12_000
      }).sse['deliveries/s']!.verdict,
    ).toBe('better')
    expect(
      sseChanges((t) => {
        t.deliveriesPerSec = 8_000
      }).comparison.regression,
    ).toBe(true)
  })
})
