import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import {
  capacityStepCounts,
  estimateRunSec,
  INVALID_SCENARIO,
  loadScenario,
  parseScenario,
} from '../../src/harness/scenario.js'
import { evaluateThresholds } from '../../src/report/thresholds.js'

const MINIMAL = `
name: tiny
description: the least a scenario needs
transports: [sse]
subscribers:
  count: 10
durationSec: 20
`

function problemsOf(yamlText: string): string[] {
  try {
    parseScenario(yamlText, 'test.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(TickstormError)
    const e = error as TickstormError
    expect(e.code).toBe(INVALID_SCENARIO)
    expect(e.code).toBe('TS_ERR_INVALID_SCENARIO')
    expect(e.details?.['file']).toBe('test.yaml')
    return e.details?.['problems'] as string[]
  }
  throw new Error('expected the scenario to be rejected')
}

describe('parseScenario', () => {
  test('fills every default and freezes the result', () => {
    const scenario = parseScenario(MINIMAL, 'tiny.yaml')
    expect(scenario).toEqual({
      name: 'tiny',
      description: 'the least a scenario needs',
      file: 'tiny.yaml',
      target: 'embedded',
      server: { preset: 'normal', seed: 1, frameMs: 5, speed: 1 },
      transports: ['sse'],
      subscribers: {
        count: 10,
        rampSec: null,
        rampPerSec: 500,
        watchList: { size: 20, pick: 'zipf', seed: 1 },
      },
      durationSec: 20,
      warmupSec: 5,
      executor: 'constant',
      thresholds: {},
      workers: 'auto',
      faults: [],
    })
    expect(Object.isFrozen(scenario)).toBe(true)
    expect(Object.isFrozen(scenario.subscribers.watchList)).toBe(true)
    expect(Object.isFrozen(scenario.transports)).toBe(true)
    expect(estimateRunSec(scenario)).toBe(25)
  })

  test('reports every problem at once, each with its path and its value', () => {
    const problems = problemsOf(`
name: Bad Name
description: several things wrong
transports: [sse, carrier-pigeon]
subscribers:
  count: 0
  watchList:
    size: 20
    pick: roulette
durationSec: "thirty"
phases:
  - durationSec: 10
  - durationSec: 10
  - durationSec: 0.5
    count: -3
thresholds:
  p99Ms: -1
  maxLossRatio: 2
workers: many
`)
    expect(problems).toEqual(
      expect.arrayContaining([
        '`name` must be lower-case letters, digits and dashes (at most 64), got "Bad Name"',
        '`transports[1]` must be one of sse, longpoll, ws, eventsource, http, got "carrier-pigeon"',
        '`subscribers.count` must be ≥ 1, got 0',
        '`subscribers.watchList.pick` must be one of zipf, uniform, fixed, got "roulette"',
        '`durationSec` must be a number, got "thirty"',
        '`phases[2].durationSec` must be ≥ 1, got 0.5',
        '`phases[2].count` must be ≥ 1, got -3',
        '`thresholds.p99Ms` must be a number > 0 and ≤ 60000; or write it as a threshold: latency: ["p(99) <= Nms"], got -1',
        '`thresholds.maxLossRatio` must be a number ≥ 0 and ≤ 1; or write it as a threshold: loss: ["rate <= N"], got 2',
        '`workers` must be "auto" or an integer from 1 to 256, got "many"',
      ]),
    )
    expect(problems).toHaveLength(10)
  })

  test('unknown keys are errors at every level, reported with their values', () => {
    const problems = problemsOf(`
name: typos
description: unknown keys everywhere
transports: [ws]
subscribers:
  count: 10
  watchlist: { size: 3 }
  watchList:
    size: 3
    colour: blue
durationSec: 10
thresholds: { p99: 5 }
phases:
  - durationSec: 10
    cuont: 4
duration: 10
`)
    expect(problems).toEqual([
      '`subscribers.watchList.colour` is not a known key, got "blue"',
      '`subscribers.watchlist` is not a known key, got {"size":3}',
      '`phases[0].cuont` is not a known key, got 4',
      expect.stringMatching(
        /^`thresholds.p99` is not a metric a threshold can judge \(a percentile is an aggregation: latency: \["p\(99\) < 100ms"\]\); write one of latency, connect, recovery, .*, got 5$/,
      ),
      '`duration` is not a known key, got 10',
    ])
  })

  test('missing required keys say so', () => {
    expect(problemsOf('name: x\n')).toEqual([
      '`description` is required, got undefined',
      '`transports` is required, got undefined',
      '`subscribers` is required, got undefined',
      '`durationSec` is required (or give phases), got undefined',
    ])
  })

  test('cross-field rules are reported together with the type errors', () => {
    const problems = problemsOf(`
name: cross
description: keys that do not go together
target: { url: "http://127.0.0.1:9000" }
server: { preset: stress }
transports: [sse, sse]
subscribers:
  count: seven
  rampSec: 5
  rampPerSec: 100
  watchList: { pick: fixed }
durationSec: 10
capacity:
  start: 10
  step: { add: 5, factor: 2 }
  max: 5
  stepDurationSec: 5
  breakOn: {}
faults:
  - { atSec: 12, kind: drop }
  - { atSec: 1, kind: meteor, fraction: 0 }
`)
    expect(problems).toEqual(
      expect.arrayContaining([
        '`subscribers.count` must be a number, got "seven"',
        '`server` is only for target: embedded or source: harness (the market the harness publishes); a server making its own events brings its own, got {"preset":"stress"}',
        '`transports[1]` is listed twice, got "sse"',
        '`subscribers.rampPerSec` must not be given with rampSec, got 100',
        '`subscribers.watchList.symbols` is required when pick is fixed, got undefined',
        '`capacity` is only for executor: capacity, got {"start":10,"step":{"add":5,"factor":2},"max":5,"stepDurationSec":5,"breakOn":{}}',
        '`capacity.step` must have exactly one of add, factor, got {"add":5,"factor":2}',
        '`capacity.max` must be ≥ capacity.start (10), got 5',
        '`capacity.breakOn` must name at least one threshold, got {}',
        "`faults[0].atSec` must be < the run's 10 s, got 12",
        '`faults[1].kind` must be one of drop, stall, restart, storm, got "meteor"',
        '`faults[1].fraction` must be > 0, got 0',
      ]),
    )
    expect(problems).toHaveLength(12)
  })

  test('a tape is for the embedded server; its watch-lists are not held to the model’s universe', () => {
    expect(
      problemsOf(
        `${MINIMAL}target: { kind: nchan, url: "http://127.0.0.1:18080" }\nsource: harness\nserver: { tape: day.dbn }\n`,
      ),
    ).toEqual([
      '`server.tape` is for the embedded server (target: embedded); the harness publishes only the seeded market, got "day.dbn"',
    ])
    // 600 symbols on a list: more than the model's 500, fine for a tape (the server checks).
    const scenario = parseScenario(
      MINIMAL.replace('  count: 10\n', '  count: 10\n  watchList: { size: 600, pick: zipf }\n') +
        'server: { tape: day.dbn }\n',
      'tape.yaml',
    )
    expect(scenario.server?.tape).toBe('day.dbn')
    expect(scenario.subscribers.watchList?.size).toBe(600)
  })

  test('a URL target must be http(s); a bad one is reported at its path', () => {
    expect(
      problemsOf(`${MINIMAL}target: { url: "ftp://example.com" }\n`).filter((p) =>
        p.includes('target'),
      ),
    ).toEqual(['`target.url` must be an http:// or https:// URL, got "ftp://example.com"'])
    expect(problemsOf(`${MINIMAL}target: somewhere\n`)).toEqual([
      '`target` must be "embedded" or { url: http://host:port, kind?, … }, got "somewhere"',
    ])
    const scenario = parseScenario(`${MINIMAL}target: { url: "http://127.0.0.1:8080" }\n`, 'u.yaml')
    expect(scenario.target).toEqual({
      kind: 'tickstorm',
      url: 'http://127.0.0.1:8080',
      headers: {},
      cookies: {},
      query: {},
    })
    expect(scenario.server).toBeNull()
  })

  test('a watch-list larger than the embedded universe is refused', () => {
    expect(
      problemsOf(
        `${MINIMAL}server: { symbols: 10 }\n`.replace(
          'count: 10',
          'count: 10\n  watchList: { size: 11 }',
        ),
      ),
    ).toEqual(["`subscribers.watchList.size` must be ≤ the server's 10 symbols, got 11"])
  })

  test('fixed watch-lists take their size from the symbols', () => {
    const scenario = parseScenario(
      MINIMAL.replace(
        'count: 10',
        'count: 10\n  rampSec: 2\n  watchList: { pick: fixed, symbols: [AAPL, MSFT] }',
      ),
      'f.yaml',
    )
    expect(scenario.subscribers).toEqual({
      count: 10,
      rampSec: 2,
      rampPerSec: null,
      watchList: { size: 2, pick: 'fixed', symbols: ['AAPL', 'MSFT'], seed: 1 },
    })
  })

  test('phases set the duration; a capacity search measures all of its steps', () => {
    const phased = parseScenario(
      MINIMAL.replace(
        'durationSec: 20',
        'phases:\n  - { durationSec: 10, count: 5 }\n  - { durationSec: 15, count: 20, rampSec: 3 }',
      ),
      'p.yaml',
    )
    expect(phased.durationSec).toBe(25)
    expect(phased.phases?.[1]).toEqual({ durationSec: 15, count: 20, rampSec: 3 })
    expect(problemsOf(`${MINIMAL}phases: [{ durationSec: 10 }]\n`)).toEqual([
      "`durationSec` must equal the phases' total (10) or be left out, got 20",
    ])

    const capacity = parseScenario(
      MINIMAL.replace(
        'durationSec: 20',
        'executor: capacity\ncapacity: { start: 100, step: { factor: 1.5 }, max: 500, stepDurationSec: 10, breakOn: { p99Ms: 50 } }',
      ),
      'c.yaml',
    )
    expect(capacityStepCounts(capacity)).toEqual([100, 150, 225, 338])
    expect(capacity.durationSec).toBe(40)
    expect(estimateRunSec(capacity)).toBe(45)
  })

  test('YAML syntax errors and duplicate keys are reported with their line', () => {
    const problems = problemsOf('name: a\nname: b\n')
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^`line 2:1` is not valid YAML \(DUPLICATE_KEY\)/)
    expect(problemsOf('- just\n- a list\n')).toEqual([
      '`(root)` must be a mapping of scenario keys, got ["just","a list"]',
    ])
  })
})

describe('shipped scenarios', () => {
  const dir = join(import.meta.dirname, '../../scenarios')
  const files = readdirSync(dir).filter((file) => file.endsWith('.yaml'))

  test('the three required ones are there', () => {
    expect(files).toEqual(
      expect.arrayContaining(['compare-transports.yaml', 'capacity-sse.yaml', 'market-open.yaml']),
    )
  })

  test.each(files)('%s is valid and fits in two minutes', async (file) => {
    const scenario = await loadScenario(join(dir, file))
    expect(scenario.name).toBe(file.replace(/\.yaml$/, ''))
    expect(estimateRunSec(scenario)).toBeLessThanOrEqual(110)
  })

  test('compare-transports runs one workload over the three transports', async () => {
    const scenario = await loadScenario(join(dir, 'compare-transports.yaml'))
    expect(scenario.transports).toEqual(['sse', 'longpoll', 'ws'])
    expect(scenario.subscribers.count).toBe(1000)
    expect(scenario.subscribers.watchList).toEqual({ size: 10, pick: 'zipf', seed: 1 })
    expect(scenario.server?.ratePerSec).toBe(250)
  })

  test('capacity-sse searches 500..4000 and market-open uses the open-burst preset', async () => {
    const capacity = await loadScenario(join(dir, 'capacity-sse.yaml'))
    expect(capacityStepCounts(capacity)).toEqual([500, 1000, 1500, 2000, 2500, 3000, 3500, 4000])
    expect(capacity.capacity?.breakOn['latency']).toEqual(['p(99) <= 50ms'])
    const open = await loadScenario(join(dir, 'market-open.yaml'))
    expect(open.server?.preset).toBe('open-burst')
    expect(open.transports).toEqual(['sse', 'ws'])
  })
})

describe('evaluateThresholds', () => {
  const result = {
    latencyUs: {
      p50: 1000,
      p90: 2000,
      p99: 40_000,
      p999: 90_000,
      max: 120_000,
      mean: 1500,
      count: 10,
    },
    lossRatio: 0.002,
    errorRate: 0,
    deliveriesPerSec: 900,
  }

  test('judges the old keys as the inclusive expressions they always meant', () => {
    expect(
      evaluateThresholds(
        { p99Ms: 40, maxLossRatio: 0.001, maxErrorRate: 0, minDeliveriesPerSec: 1000 },
        result,
      ),
    ).toEqual([
      {
        name: 'latency',
        expression: 'p(99) <= 40ms',
        unit: 'ms',
        limit: 40,
        actual: 40,
        passed: true,
      },
      {
        name: 'loss',
        expression: 'rate <= 0.001',
        unit: 'ratio',
        limit: 0.001,
        actual: 0.002,
        passed: false,
      },
      { name: 'errors', expression: 'rate <= 0', unit: 'ratio', limit: 0, actual: 0, passed: true },
      {
        name: 'deliveries',
        expression: 'rate >= 1000',
        unit: 'perSec',
        limit: 1000,
        actual: 900,
        passed: false,
      },
    ])
    expect(evaluateThresholds({ p99Ms: 39.9 }, result)).toEqual([
      {
        name: 'latency',
        expression: 'p(99) <= 39.9ms',
        unit: 'ms',
        limit: 39.9,
        actual: 40,
        passed: false,
      },
    ])
    expect(evaluateThresholds({}, result)).toEqual([])
  })
})

describe('executor arrival-rate', () => {
  const ARRIVALS = `
name: churn
description: an open model
transports: [sse]
executor: arrival-rate
arrivalRate: { ratePerSec: 50, sessionSec: { mean: 4 }, maxSubscribers: 500 }
subscribers: { watchList: { size: 5 } }
durationSec: 30
`

  test('takes its rate, stays and bound; the bound is the subscriber count watch-lists are picked for', () => {
    const scenario = parseScenario(ARRIVALS, 'churn.yaml')
    expect(scenario.arrivalRate).toEqual({
      ratePerSec: 50,
      sessionSec: { mean: 4, distribution: 'exponential' },
      maxSubscribers: 500,
      seed: 1,
    })
    expect(scenario.subscribers.count).toBe(500)
  })

  test('every misplaced or missing key is reported with its path, all at once', () => {
    const problems = problemsOf(`
name: churn
description: an open model, badly written
transports: [sse]
executor: arrival-rate
arrivalRate:
  ratePerSec: 0
  sessionSec: { mean: 4, distribution: lognormal, median: 3 }
  maxSubscribers: 500
subscribers: { count: 100, rampSec: 5 }
phases: [{ durationSec: 10 }]
`)
    expect(problems).toEqual([
      '`arrivalRate.ratePerSec` must be > 0, got 0',
      '`arrivalRate.sessionSec.distribution` must be one of exponential, fixed, got "lognormal"',
      '`arrivalRate.sessionSec.median` is not a known key, got 3',
      '`subscribers.count` is not used by executor: arrival-rate (arrivals are the ramp and arrivalRate.maxSubscribers the bound), got 100',
      '`subscribers.rampSec` is not used by executor: arrival-rate (arrivals are the ramp and arrivalRate.maxSubscribers the bound), got 5',
      '`phases` cannot be combined with executor: arrival-rate (its rate holds for durationSec), got [{"durationSec":10}]',
    ])
    expect(problemsOf(ARRIVALS.replace(/arrivalRate:.*\n/, ''))).toEqual([
      '`arrivalRate` is required when executor is arrival-rate, got undefined',
    ])
    expect(problemsOf(ARRIVALS.replace('executor: arrival-rate', 'executor: constant'))).toEqual([
      '`arrivalRate` is only for executor: arrival-rate, got {"ratePerSec":50,"sessionSec":{"mean":4},"maxSubscribers":500}',
      '`subscribers.count` is required, got undefined',
    ])
  })
})
