import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import { bootstrapMeanChange } from '../../src/report/bootstrap.js'
import {
  type Comparison,
  compareResults,
  compareSets,
  formatComparison,
  type RunSet,
  renderComparisonHtml,
} from '../../src/report/compare.js'
import { setWorkloadDifferences, workloadDifferences } from '../../src/report/compare-checks.js'
import { transportFigures } from '../../src/report/compare-figures.js'
import { type HlogInterval, sumIntervals } from '../../src/report/hlog.js'
import type { TransportName } from '../../src/report/measurements.js'
import { type LoadedResult, readResultDir } from '../../src/report/read-result.js'
import {
  RESULT_SCHEMA_VERSION,
  type RunResult,
  type TransportResult,
} from '../../src/report/result-schema.js'
import { writeResultDir } from '../../src/report/write-result.js'
import { fullRun } from './fixtures.js'

let root: string
let baseline: LoadedResult
let slower: LoadedResult
let same: LoadedResult

async function saved(name: string, scales: Parameters<typeof fullRun>[0]): Promise<LoadedResult> {
  const { result, hlogs } = fullRun(scales)
  // As a run writes it today: the version that carries every field the fixture fills in.
  await writeResultDir(join(root, name), { ...result, schemaVersion: RESULT_SCHEMA_VERSION }, hlogs)
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

/** A set of runs on disk (`<name>/run-<i>`), SSE only, run i's latencies × scales[i]. */
async function savedSet(name: string, scales: readonly number[]): Promise<RunSet> {
  const runs: LoadedResult[] = []
  for (const [i, scale] of scales.entries()) {
    runs.push(await saved(join(name, `run-${i + 1}`), { sse: scale }))
  }
  return { dir: join(root, name), name, runs }
}

describe('compareSets', () => {
  let quiet: RunSet
  let quietAgain: RunSet
  let shifted: RunSet
  let noisy: RunSet
  let noisyHigher: RunSet
  beforeAll(async () => {
    quiet = await savedSet('quiet', [1, 1.02, 0.98, 1.01])
    quietAgain = await savedSet('quiet-again', [1.01, 0.99, 1, 1.02])
    shifted = await savedSet('shifted', [1.2, 1.22, 1.18, 1.21]) // 20% slower, as quiet
    noisy = await savedSet('noisy', [0.7, 1, 1.3, 0.85, 1.15])
    noisyHigher = await savedSet('noisy-higher', [0.78, 1.08, 1.38, 0.93, 1.23]) // mean +8%
  })

  test('a clear shift: every latency interval excludes zero on the worse side, a regression', () => {
    const comparison = compareSets(quiet, shifted)
    expect(comparison.regression).toBe(true)
    expect(comparison.noiseRatio).toBeNull()
    expect(comparison.sets).toEqual({
      baselineRuns: 4,
      candidateRuns: 4,
      bootstrap: { resamples: 10_000, confidence: 0.95, seed: 1 },
    })
    const sse = changesOf(comparison, 'sse')
    for (const metric of ['p50', 'p90', 'p99', 'p99.9']) {
      expect(sse[metric]!.verdict).toBe('worse')
      expect(sse[metric]!.relative).toBeCloseTo(0.2, 2)
      expect(sse[metric]!.interval!.relativeLow!).toBeGreaterThan(0.1)
      expect(sse[metric]!.interval!.relativeHigh!).toBeLessThan(0.3)
    }
    // Figures that did not move between any runs: an interval of exactly zero, no change.
    expect(sse['deliveries/s']!.verdict).toBe('same')
    expect(sse['deliveries/s']!.interval).toMatchObject({ deltaLow: 0, deltaHigh: 0 })
    // The reverse is an improvement.
    expect(changesOf(compareSets(shifted, quiet), 'sse')['p99']!.verdict).toBe('better')
    expect(compareSets(shifted, quiet).regression).toBe(false)
  })

  test('two sets of the same noise: no significant change anywhere', () => {
    const comparison = compareSets(quiet, quietAgain)
    expect(comparison.regression).toBe(false)
    for (const change of Object.values(changesOf(comparison, 'sse'))) {
      expect(change.verdict).toBe('same')
      expect(change.interval).toBeDefined()
    }
    expect(formatComparison(comparison)).toMatch(
      /\nno significant change: every figure's 95% interval holds zero \(bootstrap over 4 and 4 runs, 10,000 resamples, seed 1\)$/,
    )
  })

  test('a change of the means beyond ±5% within the runs’ own noise is not called', () => {
    const comparison = compareSets(noisy, noisyHigher)
    const p50 = changesOf(comparison, 'sse')['p50']!
    expect(p50.relative).toBeCloseTo(0.08, 2)
    expect(p50.verdict).toBe('same')
    expect(p50.interval!.relativeLow!).toBeLessThan(0)
    expect(comparison.regression).toBe(false)
    // Two of their runs alone, against the fixed band, would have called it.
    expect(compareResults(noisy.runs[1]!, noisyHigher.runs[1]!).regression).toBe(true)
  })

  test('seeded: the same sets always give the same intervals; the seed is an option', () => {
    const a = compareSets(noisy, noisyHigher)
    const b = compareSets(noisy, noisyHigher)
    expect(changesOf(b, 'sse')['p99']!.interval).toEqual(changesOf(a, 'sse')['p99']!.interval)
    const reseeded = compareSets(noisy, noisyHigher, { bootstrap: { seed: 9 } })
    expect(reseeded.sets!.bootstrap!.seed).toBe(9)
    // The interval is the bootstrap of the runs' own p99s, with the seed given.
    const p99s = (set: RunSet) => set.runs.map((r) => transportFigures(r, 'sse')!.get('p99')!)
    expect(changesOf(reseeded, 'sse')['p99']!.interval).toEqual(
      bootstrapMeanChange(p99s(noisy), p99s(noisyHigher), { seed: 9 }),
    )
  })

  test('fewer than 3 runs on a side: said so, and the means are judged against the noise band', async () => {
    const pair = await savedSet('pair', [1, 1.02])
    const comparison = compareSets(pair, shifted)
    expect(comparison.sets!.bootstrap).toBeNull()
    expect(comparison.noiseRatio).toBe(0.05)
    expect(comparison.warnings).toContain(
      'the baseline has 2 runs, the candidate 4 runs: a confidence interval needs at least 3 runs on each side (run --repeat 3 or more), so the means are judged against the ±5% noise band instead',
    )
    const p50 = changesOf(comparison, 'sse')['p50']!
    expect(p50.interval).toBeUndefined()
    expect(p50.baseline).toBeCloseTo((5003 + 5103) / 2, -1)
    expect(p50.verdict).toBe('worse')
    const text = formatComparison(comparison)
    expect(text).not.toContain('interval  ')
    expect(
      text.endsWith(
        'REGRESSION (beyond ±5% noise) (means of the sets, too few runs for an interval)',
      ),
    ).toBe(true)
    // A wider band hides it, as for two runs.
    expect(compareSets(pair, shifted, { noiseRatio: 0.3 }).regression).toBe(false)
  })

  test('the text and the page show each interval and the verdict it gave', () => {
    const comparison = compareSets(quiet, shifted)
    const text = formatComparison(comparison)
    expect(text).toContain('baseline  quiet (compare-transports, commit fe3c4ba, 4 runs)')
    expect(text).toContain('candidate shifted (compare-transports, commit fe3c4ba, 4 runs)')
    const header = text.split('\n').find((line) => line.startsWith('metric'))!
    expect(header.split(/\s{2,}/)).toEqual([
      'metric',
      'baseline mean',
      'candidate mean',
      'change',
      'relative',
      '95% interval',
      'verdict',
    ])
    const p50 = changesOf(comparison, 'sse')['p50']!.interval!
    const shown = (ratio: number) => `+${(ratio * 100).toFixed(1)}%`
    const line = (metric: string) => text.split('\n').find((l) => l.startsWith(`${metric} `))!
    expect(line('p50')).toContain(`  ${shown(p50.relativeLow!)} … ${shown(p50.relativeHigh!)}  `)
    expect(line('p50').endsWith('  worse')).toBe(true)
    expect(line('deliveries/s').endsWith('  ±0.0%  no significant change')).toBe(true)
    expect(text).toContain(
      "REGRESSION: a figure's 95% interval lies wholly on the worse side of zero (bootstrap over 4 and 4 runs, 10,000 resamples, seed 1)",
    )
    const html = renderComparisonHtml(comparison)
    expect(html).toContain('<th>95% interval</th><th>verdict</th>')
    expect(html).toContain(
      `<td>${shown(p50.relativeLow!)} … ${shown(p50.relativeHigh!)}</td><td class="failed">worse</td>`,
    )
    expect(html).toContain('<td class="">no significant change</td>')
    expect(html).toContain(', 4 runs (')
  })

  test("the distributions are every run's intervals added up", () => {
    const comparison = compareSets(quiet, shifted)
    const sse = comparison.transports.find((t) => t.transport === 'sse')!
    // Four runs of 3 × 10,000 latencies: the top of the curve is the largest of all of them.
    expect(sse.baselineDistribution.at(-1)!.valueUs).toBeGreaterThanOrEqual(10_100)
    expect(sse.candidateDistribution.at(-1)!.valueUs).toBeGreaterThanOrEqual(12_100)
  })

  test('a single run against a set is a set of one: the noise band, said so', () => {
    const single: RunSet = { dir: baseline.dir, name: baseline.dir, runs: [baseline] }
    const comparison = compareSets(single, shifted, { force: true })
    expect(comparison.baseline.runId).toBe('20251124T060000Z-compare-transports')
    expect(comparison.baseline.runs).toBeUndefined()
    expect(comparison.warnings[0]).toMatch(/^the baseline has 1 run, the candidate 4 runs: /)
  })
})

describe('the workload check of sets', () => {
  beforeAll(() => {
    measured = fullRun({ sse: 1, ws: 1 })
  })

  const larger: Change = (parsed, result) => {
    parsed.subscribers.count = 1000
    transportOf(result, 'sse').subscribers.asked = 1000
  }

  test('within a set, every run against its first, named by its directory', () => {
    const runs = [run(undefined, '/s/run-1'), run(undefined, '/s/run-2'), run(larger, '/s/run-3')]
    expect(setWorkloadDifferences('baseline', runs, (r) => r.dir.slice(3))).toEqual([
      'baseline set: subscribers.count: run-1 has 100, run-3 has 1000',
      'baseline set: sse subscribers asked: run-1 has 100, run-3 has 1000',
    ])
  })

  test('a set of mixed workloads, or two sets of different ones, are refused unless forced', () => {
    const same = (name: string): RunSet => ({
      dir: `/${name}`,
      name,
      runs: [1, 2, 3].map((i) => run(undefined, `/${name}/run-${i}`)),
    })
    const mixed: RunSet = {
      dir: '/mixed',
      name: 'mixed',
      runs: [
        run(undefined, '/mixed/run-1'),
        run(undefined, '/mixed/run-2'),
        run(larger, '/mixed/run-3'),
      ],
    }
    const bigger: RunSet = {
      dir: '/bigger',
      name: 'bigger',
      runs: [1, 2, 3].map((i) => run(larger, `/bigger/run-${i}`)),
    }
    expect(() => compareSets(same('a'), same('b'))).not.toThrow()
    let refusal: unknown
    try {
      compareSets(same('a'), mixed)
    } catch (error) {
      refusal = error
    }
    expect(refusal).toBeInstanceOf(TickstormError)
    expect((refusal as TickstormError).code).toBe('TS_ERR_USAGE')
    expect((refusal as TickstormError).message).toContain(
      '  - candidate set: subscribers.count: run-1 has 100, run-3 has 1000\n',
    )
    expect(() => compareSets(same('a'), bigger)).toThrow(
      'subscribers.count: baseline has 100, candidate has 1000',
    )
    const forced = compareSets(same('a'), bigger, { force: true })
    expect(forced.workloadDifferences).toEqual([
      'subscribers.count: baseline has 100, candidate has 1000',
      'sse subscribers asked: baseline has 100, candidate has 1000',
    ])
    expect(formatComparison(forced)).toMatch(
      /^WARNING: these runs did not carry the same workload:/,
    )
  })
})
