// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is what these tests are about
import { describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import { INVALID_SCENARIO, parseScenario, type ScenarioInputs } from '../../src/harness/scenario.js'
import {
  applyOverrides,
  describeOverrides,
  type OverrideFlag,
  overrideFromFlag,
  parseDurationSec,
  parsePath,
  type ScenarioOverride,
  substituteEnv,
} from '../../src/harness/scenario-overrides.js'

const BASE = `name: tiny
description: the least a scenario needs
transports: [sse]
subscribers:
  count: 10
durationSec: 20
`

const NO_ENV = {}

function flags(...pairs: [OverrideFlag, string][]): ScenarioOverride[] {
  return pairs.map(([flag, typed]) => overrideFromFlag(flag, typed))
}

function problemsOf(text: string, inputs: ScenarioInputs): string[] {
  try {
    parseScenario(text, 'test.yaml', { env: NO_ENV, ...inputs })
  } catch (error) {
    expect(error).toBeInstanceOf(TickstormError)
    expect((error as TickstormError).code).toBe(INVALID_SCENARIO)
    expect((error as TickstormError).details?.['file']).toBe('test.yaml')
    return (error as TickstormError).details?.['problems'] as string[]
  }
  throw new Error('expected the scenario to be rejected')
}

describe('parseDurationSec', () => {
  test.each([
    ['30', 30],
    ['30s', 30],
    ['2m', 120],
    ['1m30s', 90],
    ['500ms', 0.5],
    ['1s500ms', 1.5],
    ['1h', 3600],
    ['1.1s', 1.1],
    ['0', 0],
    [' 5s ', 5],
  ])('%j is %d s', (text, seconds) => {
    expect(parseDurationSec(text)).toBe(seconds)
  })

  test.each(['', 's', '30x', '-5s', '30s2m', '1m1m', '5 s', '1e3', 'ms', '0x10'])(
    '%j is not a duration',
    (text) => {
      expect(parseDurationSec(text)).toBeUndefined()
    },
  )
})

describe('parsePath', () => {
  test('keys by dots, list items by [i]', () => {
    expect(parsePath('subscribers.watchList.size')).toEqual(['subscribers', 'watchList', 'size'])
    expect(parsePath('faults[0].atSec')).toEqual(['faults', 0, 'atSec'])
    expect(parsePath('target.headers.X-Token')).toEqual(['target', 'headers', 'X-Token'])
  })

  test.each(['', 'a..b', '.a', 'a.', '[0]', 'a[x]', 'a[0', 'a b', '__proto__.x', 'a.constructor'])(
    '%j is not a path',
    (text) => {
      expect(parsePath(text)).toBeUndefined()
    },
  )
})

describe('applyOverrides', () => {
  test('sets values on a copy, creating mappings and lists on the way; a later override wins', () => {
    const raw = { subscribers: { count: 1 }, target: 'embedded' }
    const { raw: out, problems } = applyOverrides(
      raw,
      flags(
        ['set', 'subscribers.watchList.size=5'],
        ['set', 'faults[0].atSec=2'],
        ['subscribers', '7'],
        ['set', 'subscribers.count=9'],
      ),
    )
    expect(problems).toEqual([])
    expect(out).toEqual({
      subscribers: { count: 9, watchList: { size: 5 } },
      target: 'embedded',
      faults: [{ atSec: 2 }],
    })
    expect(raw).toEqual({ subscribers: { count: 1 }, target: 'embedded' })
  })

  test('--target keeps an object target’s other keys; embedded is the word', () => {
    const raw = { target: { kind: 'nchan', url: 'http://127.0.0.1:1' } }
    expect(applyOverrides(raw, flags(['target', 'http://127.0.0.1:2'])).raw).toEqual({
      target: { kind: 'nchan', url: 'http://127.0.0.1:2' },
    })
    expect(applyOverrides(raw, flags(['target', 'embedded'])).raw).toEqual({ target: 'embedded' })
    expect(applyOverrides({}, flags(['target', 'http://h:1'])).raw).toEqual({
      target: { url: 'http://h:1' },
    })
  })

  test('a path through a scalar, or past a list’s end, is a problem naming the flag', () => {
    const { problems } = applyOverrides(
      { target: 'embedded', faults: [] },
      flags(['set', 'target.url=http://h:1'], ['set', 'faults[1].atSec=1']),
    )
    expect(problems).toEqual([
      '`--set` cannot set `target.url`: `target` is "embedded", not a mapping or a list',
      '`--set` cannot set item [1] of `faults`, which has 0 (one past the end at most)',
    ])
  })

  test('values are YAML: numbers, flow lists and mappings, text', () => {
    const { raw } = applyOverrides(
      {},
      flags(
        ['set', 'transports=[sse, ws]'],
        ['set', 'thresholds.p99Ms=50'],
        ['set', 'server={ preset: stress }'],
        ['set', 'description=a: b'],
        ['transports', 'sse, longpoll'],
      ),
    )
    expect(raw).toEqual({
      transports: ['sse', 'longpoll'],
      thresholds: { p99Ms: 50 },
      server: { preset: 'stress' },
      description: { a: 'b' },
    })
  })

  test('the line printed at the start says what each flag set', () => {
    expect(describeOverrides(flags(['subscribers', '5'], ['duration', '1m30s']))).toBe(
      'subscribers.count=5 (--subscribers 5), durationSec=90 (--duration 1m30s)',
    )
  })
})

describe('substituteEnv', () => {
  test('a set variable, a default, an empty one, and the $${ escape', () => {
    const text = 'a: ${A}\nb: ${B:-two}\nc: ${C:-three}\nd: ${D}\ne: $${A} and $$x\n'
    expect(substituteEnv(text, { A: '1', C: '', D: '' })).toEqual({
      text: 'a: 1\nb: two\nc: three\nd: \ne: ${A} and $$x\n',
      problems: [],
    })
  })

  test('an unset variable without a default, and a malformed reference, name their lines', () => {
    const { problems } = substituteEnv('a: 1\nb: ${NOPE}\n# ${ALSO}\nc: ${not a name}\n', {})
    expect(problems).toEqual([
      'line 2: ${NOPE} is not set (give it a value or write ${NOPE:-default})',
      'line 3: ${ALSO} is not set (give it a value or write ${ALSO:-default})',
      'line 4: ${not a name} is not a variable reference (write ${NAME} or ${NAME:-default}, or $${ for a literal ${)',
    ])
  })

  test('through parseScenario: a value is typed as YAML types it; unset is TS_ERR_INVALID_SCENARIO', () => {
    const text = BASE.replace('count: 10', 'count: ${SUBS:-3}').replace(
      'durationSec: 20',
      'durationSec: ${DURATION}',
    )
    const scenario = parseScenario(text, 'env.yaml', { env: { SUBS: '4', DURATION: '12' } })
    expect(scenario.subscribers.count).toBe(4)
    expect(scenario.durationSec).toBe(12)
    expect(parseScenario(text, 'env.yaml', { env: { DURATION: '12' } }).subscribers.count).toBe(3)
    expect(problemsOf(text, { env: { SUBS: '4' } })).toEqual([
      'line 6: ${DURATION} is not set (give it a value or write ${DURATION:-default})',
    ])
  })
})

describe('overrides through parseScenario', () => {
  test('the overridden values are the scenario', () => {
    const scenario = parseScenario(BASE, 'o.yaml', {
      env: NO_ENV,
      overrides: flags(
        ['subscribers', '5'],
        ['duration', '2s'],
        ['warmup', '0'],
        ['transports', 'sse,ws'],
        ['rate', '800'],
        ['set', 'subscribers.watchList.size=5'],
        ['set', 'thresholds.p99Ms=50'],
      ),
    })
    expect(scenario.subscribers.count).toBe(5)
    expect(scenario.subscribers.watchList.size).toBe(5)
    expect(scenario.durationSec).toBe(2)
    expect(scenario.warmupSec).toBe(0)
    expect(scenario.transports).toEqual(['sse', 'ws'])
    expect(scenario.server?.ratePerSec).toBe(800)
    expect(scenario.thresholds).toEqual({ p99Ms: 50 })
  })

  test('schema and cross-field problems name the flag; the file’s own problems stay the file’s', () => {
    const problems = problemsOf(BASE.replace('name: tiny', 'name: Tiny'), {
      overrides: flags(
        ['subscribers', '0'],
        ['duration', 'soon'],
        ['transports', 'sse,sse'],
        ['set', 'subscribers.watchList.colour=red'],
        ['set', 'subscribers.extra.deep=1'],
        ['target', 'not-a-url'],
      ),
    })
    expect(problems).toEqual([
      '`--duration` must be a duration like 30, 30s, 2m, 1m30s or 500ms, got "soon"',
      '`name` must be lower-case letters, digits and dashes (at most 64), got "Tiny"',
      '`--target` (target.url) must be an http:// or https:// URL, got "not-a-url"',
      '`--subscribers` (subscribers.count) must be ≥ 1, got 0',
      '`--set` (subscribers.watchList.colour) is not a known key, got "red"',
      '`--set` (subscribers.extra) is not a known key, got {"deep":1}',
      '`--transports` (transports[1]) is listed twice, got "sse"',
    ])
  })

  test('no overrides and no references: the file as it was', () => {
    expect(parseScenario(BASE, 'o.yaml', { env: NO_ENV })).toEqual(parseScenario(BASE, 'o.yaml'))
  })
})
