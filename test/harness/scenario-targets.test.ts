import { describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import { INVALID_SCENARIO, parseScenario, type Scenario } from '../../src/harness/scenario.js'
import { adapterFor, sourceOf } from '../../src/harness/target-adapter.js'

/**
 * A scenario's target, read strictly: what each kind offers (transports, sources), the keys only
 * some kinds take, a generic target's endpoints and templates, the process a stall or a restart
 * needs, and the sources each kind defaults to. Every problem names its path.
 */

/** A scenario with `target` (a YAML flow mapping or `embedded`) and any extra top-level lines. */
function scenarioText(target: string, extra: readonly string[] = [], transports = '[sse]'): string {
  return [
    'name: targets',
    'description: a scenario about its target',
    `target: ${target}`,
    `transports: ${transports}`,
    'subscribers:',
    '  count: 2',
    '  watchList: { pick: fixed, symbols: [A, B] }',
    'durationSec: 10',
    ...extra,
  ].join('\n')
}

function problemsOf(yamlText: string): string[] {
  try {
    parseScenario(yamlText, 'targets.yaml')
  } catch (error) {
    expect(error).toBeInstanceOf(TickstormError)
    expect((error as TickstormError).code).toBe(INVALID_SCENARIO)
    return (error as TickstormError).details?.['problems'] as string[]
  }
  throw new Error('expected the scenario to be rejected')
}

/** The one problem at `path`, which must say `says`. */
function expectProblem(problems: readonly string[], path: string, says: RegExp): void {
  const atPath = problems.filter((problem) => problem.startsWith(`\`${path}\` `))
  expect(atPath, `a problem at ${path} among ${JSON.stringify(problems)}`).toHaveLength(1)
  expect(atPath[0]).toMatch(says)
}

const NCHAN = '{ kind: nchan, url: "http://127.0.0.1:8080" }'
const PUSHPIN =
  '{ kind: pushpin, url: "http://127.0.0.1:7999", publishUrl: "http://127.0.0.1:5561" }'
const GENERIC_SSE = '{ kind: generic, url: "http://127.0.0.1:9000", sse: { path: "/events" } }'
const TICKSTORM_URL = '{ url: "http://127.0.0.1:8080" }'

describe('a target refuses what its kind does not offer', () => {
  test('a transport the kind does not offer, at transports[i]', () => {
    expectProblem(
      problemsOf(scenarioText(NCHAN, [], '[sse, http]')),
      'transports[1]',
      /is not offered by a nchan target \(it offers sse, eventsource, longpoll, ws\), got "http"/,
    )
    expectProblem(
      problemsOf(scenarioText(PUSHPIN, [], '[ws, longpoll]')),
      'transports[1]',
      /is not offered by a pushpin target \(it offers sse, eventsource, ws\), got "longpoll"/,
    )
    // A generic target offers what it describes: SSE (and eventsource), not WebSockets.
    expectProblem(
      problemsOf(scenarioText(GENERIC_SSE, [], '[eventsource, ws]')),
      'transports[1]',
      /is not offered by a generic target \(it offers sse, eventsource\), got "ws"/,
    )
  })

  test('source: harness on tickstorm (by URL or embedded), source: server on nchan', () => {
    expectProblem(
      problemsOf(scenarioText(TICKSTORM_URL, ['source: harness'])),
      'source',
      /must be server for a tickstorm target \(tickstorm makes its own events/,
    )
    expectProblem(
      problemsOf(scenarioText('embedded', ['source: harness'])),
      'source',
      /harness needs a target that takes published events/,
    )
    expectProblem(
      problemsOf(scenarioText(NCHAN, ['source: server'])),
      'source',
      /must be harness for a nchan target \(nchan makes no events of its own/,
    )
    expectProblem(
      problemsOf(scenarioText(GENERIC_SSE, ['source: harness'])),
      'source',
      /must be server for a generic target \(harness needs target\.publish/,
    )
  })

  test('a generic target with no endpoint', () => {
    const problems = problemsOf(scenarioText('{ kind: generic, url: "http://127.0.0.1:9000" }'))
    expectProblem(problems, 'target', /must describe at least one of sse, ws, longpoll/)
    // … so it offers no transport at all.
    expectProblem(problems, 'transports[0]', /it offers none\), got "sse"/)
  })
})

describe("a generic target's templates", () => {
  test('an unknown placeholder names its template', () => {
    expectProblem(
      problemsOf(
        scenarioText(
          '{ kind: generic, url: "http://127.0.0.1:9000", sse: { path: "/events/{topic}" } }',
        ),
      ),
      'target.sse.path',
      /may use only \{symbols\}, not \{topic\}, got "\/events\/\{topic\}"/,
    )
    expectProblem(
      problemsOf(
        scenarioText(
          '{ kind: generic, url: "http://127.0.0.1:9000", sse: { path: "/e" }, publish: { path: "/pub/{symbols}" } }',
        ),
      ),
      'target.publish.path',
      /may use only \{symbol\}, not \{symbols\}/,
    )
  })

  test('a ws.subscribe that is not JSON once {symbols} is filled', () => {
    const target =
      '{ kind: generic, url: "http://127.0.0.1:9000", ws: { path: "/ws", subscribe: "SUB {symbols}" } }'
    expectProblem(
      problemsOf(scenarioText(target, [], '[ws]')),
      'target.ws.subscribe',
      /must be JSON once \{symbols\} is replaced by a JSON array of symbols, got "SUB \{symbols\}"/,
    )
    // Valid JSON with the placeholder filled in passes.
    const ok =
      '{ kind: generic, url: "http://127.0.0.1:9000", ws: { path: "/ws", subscribe: \'{"sub":{symbols}}\' } }'
    expect(parseScenario(scenarioText(ok, [], '[ws]'), 'ok.yaml').transports).toEqual(['ws'])
  })
})

describe('keys only some kinds take', () => {
  test('target.publishUrl: required for pushpin, refused for nchan', () => {
    expectProblem(
      problemsOf(scenarioText('{ kind: pushpin, url: "http://127.0.0.1:7999" }')),
      'target.publishUrl',
      /is required for kind: pushpin/,
    )
    expectProblem(
      problemsOf(
        scenarioText(
          '{ kind: nchan, url: "http://127.0.0.1:8080", publishUrl: "http://127.0.0.1:8081" }',
        ),
      ),
      'target.publishUrl',
      /is only for kind: pushpin, got "http:\/\/127\.0\.0\.1:8081"/,
    )
  })

  test('target.auth only for tickstorm; sse only for generic', () => {
    const secret = 'x'.repeat(32)
    expectProblem(
      problemsOf(
        scenarioText(`{ kind: nchan, url: "http://127.0.0.1:8080", auth: { secret: ${secret} } }`),
      ),
      'target.auth',
      /is only for kind: tickstorm/,
    )
    expectProblem(
      problemsOf(scenarioText('{ url: "http://127.0.0.1:8080", sse: { path: "/x" } }')),
      'target.sse',
      /is only for kind: generic/,
    )
  })

  test('target.pid together with target.command', () => {
    expectProblem(
      problemsOf(
        scenarioText('{ kind: nchan, url: "http://127.0.0.1:8080", pid: 1234, command: "nginx" }'),
      ),
      'target.pid',
      /must not be given with target\.command, got 1234/,
    )
  })

  test('a header value with a line break', () => {
    expectProblem(
      problemsOf(
        scenarioText('{ url: "http://127.0.0.1:8080", headers: { X-Token: "a\\r\\nX-Evil: 1" } }'),
      ),
      'target.headers.X-Token',
      /must be one line/,
    )
  })
})

describe('a stall or a restart needs the server process', () => {
  const fault = (kind: string) => ['faults:', `  - { atSec: 1, kind: ${kind}, durationSec: 1 }`]

  test('stall without pid or command is refused; with either it is taken', () => {
    expectProblem(
      problemsOf(scenarioText(NCHAN, fault('stall'))),
      'faults[0].kind',
      /stall needs the server process: give target\.command .* or target\.pid/,
    )
    const withPid = '{ kind: nchan, url: "http://127.0.0.1:8080", pid: 1234 }'
    expect(parseScenario(scenarioText(withPid, fault('stall')), 'ok.yaml').faults[0]?.kind).toBe(
      'stall',
    )
    const withCommand = '{ kind: nchan, url: "http://127.0.0.1:8080", command: "nginx" }'
    expect(
      parseScenario(scenarioText(withCommand, fault('stall')), 'ok.yaml').faults[0]?.kind,
    ).toBe('stall')
  })

  test('restart with only a pid is refused (the harness restarts only what it started)', () => {
    const withPid = '{ kind: nchan, url: "http://127.0.0.1:8080", pid: 1234 }'
    expectProblem(
      problemsOf(scenarioText(withPid, fault('restart'))),
      'faults[0].kind',
      /restart needs target\.command/,
    )
    const withCommand = '{ kind: nchan, url: "http://127.0.0.1:8080", command: "nginx" }'
    expect(
      parseScenario(scenarioText(withCommand, fault('restart')), 'ok.yaml').faults[0]?.kind,
    ).toBe('restart')
  })
})

describe('the server: block (the market)', () => {
  test('taken with source harness, refused for a tickstorm URL target', () => {
    const withServer = ['source: harness', 'server: { symbols: 5, ratePerSec: 200 }']
    const scenario = parseScenario(scenarioText(NCHAN, withServer), 'ok.yaml')
    expect(scenario.server).toMatchObject({ symbols: 5, ratePerSec: 200 })
    expectProblem(
      problemsOf(scenarioText(TICKSTORM_URL, ['server: { symbols: 5 }'])),
      'server',
      /is only for target: embedded or source: harness/,
    )
  })

  test('a harness-sourced target without a server: block gets the default market', () => {
    expect(parseScenario(scenarioText(NCHAN), 'ok.yaml').server).toEqual({
      preset: 'normal',
      seed: 1,
      frameMs: 5,
      speed: 1,
    })
    expect(parseScenario(scenarioText(TICKSTORM_URL), 'ok.yaml').server).toBeNull()
  })
})

describe('each kind has its default source', () => {
  const sourceOfText = (target: string, transports = '[sse]'): string => {
    const scenario: Scenario = parseScenario(scenarioText(target, [], transports), 'ok.yaml')
    return sourceOf(scenario, adapterFor(scenario))
  }

  test('nchan and pushpin: harness; tickstorm (URL or embedded): server', () => {
    expect(sourceOfText(NCHAN)).toBe('harness')
    expect(sourceOfText(PUSHPIN)).toBe('harness')
    expect(sourceOfText(TICKSTORM_URL)).toBe('server')
    expect(sourceOfText('embedded')).toBe('server')
  })

  test('generic: harness with a publish endpoint, server without', () => {
    expect(
      sourceOfText(
        '{ kind: generic, url: "http://127.0.0.1:9000", sse: { path: "/e" }, publish: { path: "/pub/{symbol}" } }',
      ),
    ).toBe('harness')
    expect(sourceOfText(GENERIC_SSE)).toBe('server')
    // The default is a default: a generic target with publish may still run on its own events.
    const scenario = parseScenario(
      scenarioText(
        '{ kind: generic, url: "http://127.0.0.1:9000", sse: { path: "/e" }, publish: { path: "/p/{symbol}" } }',
        ['source: server'],
      ),
      'ok.yaml',
    )
    expect(sourceOf(scenario, adapterFor(scenario))).toBe('server')
  })
})
