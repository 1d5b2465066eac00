/**
 * Scenario files: YAML, validated strictly (k6's rule: an unknown key is an error, and every
 * problem is reported at once, each with its path and the bad value), defaults filled in, frozen.
 * The shape and the meaning of each key are in scenario-schema.ts.
 */

import { readFile } from 'node:fs/promises'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { ERROR_CODES, Problems, TickstormError } from '../errors.js'
import { describeFileError } from '../file-error.js'
import { PRESETS } from '../market/presets.js'
import { addZodIssues } from '../zod-problems.js'
import {
  applyOverrides,
  invalidScenario,
  nameOverrideFlags,
  type ScenarioEnv,
  type ScenarioOverride,
  substituteEnv,
} from './scenario-overrides.js'
import { type ParsedScenario, scenarioSchema, serverSchema } from './scenario-schema.js'
import { type EventSource, TARGET_OFFERS } from './targets/adapter.js'
import { genericOffer } from './targets/generic.js'
import { unknownPlaceholders } from './targets/wire-spec.js'

/** A scenario file failed to parse or validate; `details.problems` lists every problem. */
export const INVALID_SCENARIO = ERROR_CODES.INVALID_SCENARIO

/** Connects per second when a scenario gives neither `rampSec` nor `rampPerSec`. */
export const DEFAULT_RAMP_PER_SEC = 500

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T

type ResolvedServer = z.output<typeof serverSchema>

/** A validated scenario with every default filled in. */
export type Scenario = DeepReadonly<
  Omit<ParsedScenario, 'durationSec' | 'server' | 'subscribers'> & {
    /** The file it came from (as given to the loader). */
    file: string
    /** Measured seconds per transport (for phases: their sum). */
    durationSec: number
    /** The embedded server's options; null for a `{ url }` target. */
    server: ResolvedServer | null
    subscribers: Omit<ParsedScenario['subscribers'], 'count' | 'rampSec' | 'rampPerSec'> & {
      /** The subscriber count; with executor arrival-rate, `arrivalRate.maxSubscribers`. */
      count: number
      /** Exactly one of the two is set. */
      rampSec: number | null
      rampPerSec: number | null
    }
  }
>

/** What the file is not alone in deciding: its environment and the command line's overrides. */
export interface ScenarioInputs {
  /**
   * For `${VAR}` in the file; default: none (only the CLI reads the process's environment, and
   * passes it: a library caller says what a scenario may see).
   */
  readonly env?: ScenarioEnv | undefined
  /** Set on the parsed file before validation, in order (see scenario-overrides.ts). */
  readonly overrides?: readonly ScenarioOverride[] | undefined
}

/** Reads and validates a scenario file; a file that cannot be read is a bad scenario too. */
export async function loadScenario(path: string, inputs: ScenarioInputs = {}): Promise<Scenario> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    const why = describeFileError(cause)
    throw new TickstormError(INVALID_SCENARIO, `cannot read scenario ${path}: ${why}`, {
      cause,
      details: { file: path, problems: [why] },
    })
  }
  return parseScenario(text, path, inputs)
}

export function parseScenario(
  yamlText: string,
  fileName: string,
  inputs: ScenarioInputs = {},
): Scenario {
  const problems = new Problems()
  const substituted = substituteEnv(yamlText, inputs.env ?? {})
  // An unset variable leaves the YAML around it unknown: its problems alone, not their echoes.
  if (substituted.problems.length > 0) throw invalidScenario(fileName, substituted.problems)
  const document = parseDocument(substituted.text, { prettyErrors: true, uniqueKeys: true })
  for (const error of document.errors) {
    const [line, column] = error.linePos?.[0]
      ? [error.linePos[0].line, error.linePos[0].col]
      : [0, 0]
    problems.add(
      `line ${line}:${column}`,
      `is not valid YAML (${error.code})`,
      firstLine(error.message),
    )
  }
  if (problems.list.length > 0) throwInvalid(fileName, problems)
  let raw: unknown
  try {
    // The yaml package throws here (not in document.errors) for unresolved aliases, bad merge
    // keys and alias bombs ("excessive alias count"): still the file's fault, so still coded.
    raw = document.toJS()
  } catch (error) {
    problems.add('(root)', 'is not valid YAML', firstLine((error as Error).message))
    throwInvalid(fileName, problems)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.add('(root)', 'must be a mapping of scenario keys', raw)
    throwInvalid(fileName, problems)
  }

  const overrides = inputs.overrides ?? []
  const overridden = applyOverrides(raw as Record<string, unknown>, overrides)
  const parsed = scenarioSchema.safeParse(overridden.raw, { reportInput: true })
  if (!parsed.success) addZodIssues(problems, parsed.error.issues, { unionExpectation })
  checkCrossFields(overridden.raw, problems)
  const named = [
    ...overridden.problems,
    ...nameOverrideFlags(problems.list, overrides, raw as Record<string, unknown>),
  ]
  if (named.length > 0 || !parsed.success) throw invalidScenario(fileName, named)
  return resolve(parsed.data, fileName)
}

function throwInvalid(fileName: string, problems: Problems): never {
  throw new TickstormError(
    INVALID_SCENARIO,
    `invalid scenario ${fileName}:\n  - ${problems.list.join('\n  - ')}`,
    { details: { file: fileName, problems: [...problems.list] } },
  )
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text
}

function resolve(parsed: ParsedScenario, fileName: string): Scenario {
  const phasesSec = parsed.phases?.reduce((sum, phase) => sum + phase.durationSec, 0)
  const { rampSec, rampPerSec, watchList } = parsed.subscribers
  const scenario = {
    ...parsed,
    file: fileName,
    durationSec: parsed.durationSec ?? phasesSec ?? capacitySec(parsed),
    server:
      parsed.target === 'embedded' || sourceOfParsed(parsed) === 'harness'
        ? (parsed.server ?? serverSchema.parse({}))
        : null,
    subscribers: {
      ...parsed.subscribers,
      // Present unless executor is arrival-rate (checkCrossFields), whose bound is the count.
      count: parsed.subscribers.count ?? parsed.arrivalRate?.maxSubscribers ?? 1,
      rampSec: rampSec ?? null,
      rampPerSec: rampSec === undefined ? (rampPerSec ?? DEFAULT_RAMP_PER_SEC) : null,
      watchList: {
        ...watchList,
        size:
          watchList.pick === 'fixed' && watchList.symbols
            ? watchList.symbols.length
            : watchList.size,
      },
    },
  }
  return deepFreeze(scenario) as Scenario
}

/** A capacity search measures every step it may try: up to `max`. */
function capacitySec(parsed: ParsedScenario): number {
  const capacity = parsed.capacity
  if (!capacity) return 0
  return stepCounts(capacity).length * capacity.stepDurationSec
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const entry of Object.values(value)) deepFreeze(entry)
    Object.freeze(value)
  }
  return value
}

// ---------------------------------------------------------------------------------------------
// Problems: zod issues and cross-field rules, in the house format "`path` expectation, got value"

function unionExpectation(path: readonly PropertyKey[]): string {
  const last = path.at(-1)
  if (last === 'target') return 'must be "embedded" or { url: http://host:port, kind?, … }'
  if (last === 'workers') return 'must be "auto" or an integer from 1 to 256'
  return 'is not any of the accepted forms'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Where a parsed scenario's events come from: as it says, else its target kind's default. */
function sourceOfParsed(parsed: ParsedScenario): EventSource {
  if (parsed.source !== undefined) return parsed.source
  if (parsed.target === 'embedded') return 'server'
  return offerOf(parsed.target as Record<string, unknown>)?.defaultSource ?? 'server'
}

/** What a raw target object's kind offers (null for an unknown kind: reported elsewhere). */
function offerOf(target: Record<string, unknown>): {
  transports: readonly string[]
  sources: readonly EventSource[]
  defaultSource: EventSource
} | null {
  const kind = target['kind'] ?? 'tickstorm'
  if (kind === 'generic') {
    const offer = genericOffer({
      sse: target['sse'] as never,
      ws: target['ws'] as never,
      longpoll: target['longpoll'] as never,
      publish: target['publish'] as never,
    })
    return { ...offer, defaultSource: offer.sources[0]! }
  }
  if (typeof kind !== 'string' || !Object.hasOwn(TARGET_OFFERS, kind)) return null
  const offer = TARGET_OFFERS[kind as keyof typeof TARGET_OFFERS]
  return { ...offer, defaultSource: offer.sources[0]! }
}

/** Keys of a target object that only some kinds take. */
const KIND_KEYS: Readonly<Record<string, readonly string[]>> = {
  auth: ['tickstorm'],
  publishUrl: ['pushpin'],
  origin: ['pushpin'],
  sse: ['generic'],
  ws: ['generic'],
  longpoll: ['generic'],
  publish: ['generic'],
  event: ['generic'],
}

/**
 * A target object's rules: keys its kind takes, a generic target's endpoints and templates, the
 * transports and the source its kind offers. Returns the source the scenario will run with.
 */
function checkTarget(raw: Record<string, unknown>, problems: Problems): EventSource | undefined {
  const target = raw['target']
  const source = raw['source']
  if (!isObject(target)) {
    if (source === 'harness') {
      problems.add(
        'source',
        'harness needs a target that takes published events (kind nchan, pushpin, or generic with publish); the embedded tickstorm makes its own',
        source,
      )
    }
    return 'server'
  }
  const kind = typeof target['kind'] === 'string' ? target['kind'] : 'tickstorm'
  for (const [key, kinds] of Object.entries(KIND_KEYS)) {
    if (target[key] !== undefined && !kinds.includes(kind)) {
      problems.add(`target.${key}`, `is only for kind: ${kinds.join(' or ')}`, target[key])
    }
  }
  if (target['pid'] !== undefined && target['command'] !== undefined) {
    problems.add('target.pid', 'must not be given with target.command', target['pid'])
  }
  if (kind === 'pushpin' && target['publishUrl'] === undefined) {
    problems.add(
      'target.publishUrl',
      'is required for kind: pushpin (its HTTP control API, e.g. http://127.0.0.1:5561)',
      undefined,
    )
  }
  if (kind === 'generic') checkGenericTemplates(target, problems)
  const offer = offerOf(target)
  if (offer === null) return undefined
  if (kind === 'generic' && offer.transports.length === 0) {
    problems.add(
      'target',
      'a generic target must describe at least one of sse, ws, longpoll',
      target,
    )
  }
  if (Array.isArray(raw['transports'])) {
    raw['transports'].forEach((transport, index) => {
      if (typeof transport === 'string' && !offer.transports.includes(transport)) {
        problems.add(
          `transports[${index}]`,
          `is not offered by a ${kind} target (it offers ${offer.transports.join(', ') || 'none'})`,
          transport,
        )
      }
    })
  }
  if (
    source !== undefined &&
    typeof source === 'string' &&
    !offer.sources.includes(source as EventSource)
  ) {
    const why =
      kind === 'generic'
        ? 'harness needs target.publish (where the harness publishes each tick)'
        : kind === 'tickstorm'
          ? 'tickstorm makes its own events and takes no publishes'
          : `${kind} makes no events of its own: the harness publishes them`
    problems.add(
      'source',
      `must be ${offer.sources.join(' or ')} for a ${kind} target (${why})`,
      source,
    )
  }
  return (source as EventSource | undefined) ?? offer.defaultSource
}

/** A generic target's path templates use only their own placeholders; a subscribe message is JSON. */
function checkGenericTemplates(target: Record<string, unknown>, problems: Problems): void {
  const allowed: Record<string, readonly string[]> = {
    'sse.path': ['symbols'],
    'ws.path': ['symbols'],
    'ws.subscribe': ['symbols'],
    'longpoll.path': ['symbols', 'cursor'],
    'publish.path': ['symbol'],
  }
  for (const [path, names] of Object.entries(allowed)) {
    const [block, key] = path.split('.') as [string, string]
    const value = isObject(target[block])
      ? (target[block] as Record<string, unknown>)[key]
      : undefined
    if (typeof value !== 'string') continue
    const unknown = unknownPlaceholders(value, names)
    if (unknown.length > 0) {
      problems.add(
        `target.${path}`,
        `may use only ${names.map((name) => `{${name}}`).join(', ')}, not ${unknown.map((name) => `{${name}}`).join(', ')}`,
        value,
      )
    }
  }
  const ws = target['ws']
  if (isObject(ws)) {
    if (typeof ws['subscribe'] === 'string') {
      try {
        const message: unknown = JSON.parse(ws['subscribe'].replaceAll('{symbols}', '["A"]'))
        if (ws['resumeField'] !== undefined && !isObject(message)) {
          problems.add(
            'target.ws.subscribe',
            'must be a JSON object when resumeField is given',
            ws['subscribe'],
          )
        }
      } catch {
        problems.add(
          'target.ws.subscribe',
          'must be JSON once {symbols} is replaced by a JSON array of symbols',
          ws['subscribe'],
        )
      }
    } else if (ws['resumeField'] !== undefined) {
      problems.add(
        'target.ws.resumeField',
        'needs ws.subscribe (the message it goes in)',
        ws['resumeField'],
      )
    }
  }
}

/** Rules between keys; they read the raw input defensively so they run even when types are off. */
function checkCrossFields(raw: Record<string, unknown>, problems: Problems): void {
  const target = raw['target'] ?? 'embedded'
  const server = raw['server']
  const source = checkTarget(raw, problems)
  if (server !== undefined && target !== 'embedded' && source !== 'harness') {
    problems.add(
      'server',
      'is only for target: embedded or source: harness (the market the harness publishes); a server making its own events brings its own',
      server,
    )
  }
  if (isObject(server) && server['tape'] !== undefined && source === 'harness') {
    problems.add(
      'server.tape',
      'is for the embedded server (target: embedded); the harness publishes only the seeded market',
      server['tape'],
    )
  }

  if (Array.isArray(raw['transports'])) {
    const seen = new Set<unknown>()
    raw['transports'].forEach((transport, index) => {
      if (seen.has(transport)) problems.add(`transports[${index}]`, 'is listed twice', transport)
      seen.add(transport)
    })
  }

  const subscribers = raw['subscribers']
  if (isObject(subscribers)) {
    if (subscribers['rampSec'] !== undefined && subscribers['rampPerSec'] !== undefined) {
      problems.add(
        'subscribers.rampPerSec',
        'must not be given with rampSec',
        subscribers['rampPerSec'],
      )
    }
    const watchList = subscribers['watchList']
    if (isObject(watchList)) {
      const pick = watchList['pick'] ?? 'zipf'
      const symbols = watchList['symbols']
      if (pick === 'fixed' && symbols === undefined) {
        problems.add('subscribers.watchList.symbols', 'is required when pick is fixed', symbols)
      }
      if (pick !== 'fixed' && symbols !== undefined) {
        problems.add('subscribers.watchList.symbols', 'is only for pick: fixed', symbols)
      }
      if (
        pick === 'fixed' &&
        Array.isArray(symbols) &&
        watchList['size'] !== undefined &&
        watchList['size'] !== symbols.length
      ) {
        problems.add(
          'subscribers.watchList.size',
          `must equal the number of symbols (${symbols.length}) when pick is fixed`,
          watchList['size'],
        )
      }
      const size = watchList['size']
      const universe = universeSize(server)
      if (
        (target === 'embedded' || source === 'harness') &&
        typeof size === 'number' &&
        universe !== undefined &&
        size > universe
      ) {
        problems.add(
          'subscribers.watchList.size',
          `must be ≤ the server's ${universe} symbols`,
          size,
        )
      }
    }
  }

  const executor = raw['executor'] ?? 'constant'
  checkArrivalRate(raw, executor, problems)
  checkWatchListChanges(
    raw,
    target === 'embedded' || source === 'harness' ? universeSize(server) : undefined,
    problems,
  )
  const capacity = raw['capacity']
  if (executor === 'capacity' && capacity === undefined) {
    problems.add('capacity', 'is required when executor is capacity', capacity)
  }
  if (executor !== 'capacity' && capacity !== undefined) {
    problems.add('capacity', 'is only for executor: capacity', capacity)
  }
  if (isObject(capacity)) {
    const step = capacity['step']
    if (isObject(step) && (step['add'] === undefined) === (step['factor'] === undefined)) {
      problems.add('capacity.step', 'must have exactly one of add, factor', step)
    }
    const { start, max, breakOn } = capacity
    if (typeof start === 'number' && typeof max === 'number' && max < start) {
      problems.add('capacity.max', `must be ≥ capacity.start (${start})`, max)
    }
    if (isObject(breakOn) && Object.keys(breakOn).length === 0) {
      problems.add('capacity.breakOn', 'must name at least one threshold', breakOn)
    }
  }

  if (executor === 'capacity') {
    if (raw['durationSec'] !== undefined) {
      problems.add(
        'durationSec',
        'is not used by executor: capacity (see capacity.stepDurationSec)',
        raw['durationSec'],
      )
    }
    if (raw['phases'] !== undefined) {
      problems.add(
        'phases',
        'cannot be combined with executor: capacity (its steps are the phases)',
        raw['phases'],
      )
    }
  }

  const phases = raw['phases']
  const duration = raw['durationSec']
  if (phases === undefined && duration === undefined && executor !== 'capacity') {
    problems.add('durationSec', 'is required (or give phases)', duration)
  }
  if (Array.isArray(phases) && typeof duration === 'number') {
    const sum = phases.reduce<number>(
      (total, phase) =>
        total +
        (isObject(phase) && typeof phase['durationSec'] === 'number' ? phase['durationSec'] : 0),
      0,
    )
    if (sum !== duration) {
      problems.add('durationSec', `must equal the phases' total (${sum}) or be left out`, duration)
    }
  }

  const faults = raw['faults']
  const measuredSec =
    typeof duration === 'number'
      ? duration
      : Array.isArray(phases)
        ? phases.reduce<number>(
            (total, phase) =>
              total +
              (isObject(phase) && typeof phase['durationSec'] === 'number'
                ? phase['durationSec']
                : 0),
            0,
          )
        : undefined
  // A stall or a restart acts on the server process: the embedded server, or one the harness
  // started (target.command); a stall may also freeze a server it was told the pid of. Against
  // any other target it would do nothing and still be reported as applied.
  if (Array.isArray(faults) && isObject(raw['target'])) {
    const t = raw['target']
    faults.forEach((fault, index) => {
      if (!isObject(fault)) return
      const kind = fault['kind']
      const allowed =
        (kind === 'stall' && (t['command'] !== undefined || t['pid'] !== undefined)) ||
        (kind === 'restart' && t['command'] !== undefined)
      if ((kind === 'stall' || kind === 'restart') && !allowed) {
        problems.add(
          `faults[${index}].kind`,
          kind === 'stall'
            ? 'stall needs the server process: give target.command (the harness starts the server) or target.pid; or use drop or storm'
            : 'restart needs target.command (the harness can restart only a server it started); or use drop or storm',
          kind,
        )
      }
    })
  }
  if (Array.isArray(faults) && measuredSec !== undefined) {
    faults.forEach((fault, index) => {
      if (isObject(fault) && typeof fault['atSec'] === 'number' && fault['atSec'] >= measuredSec) {
        problems.add(
          `faults[${index}].atSec`,
          `must be < the run's ${measuredSec} s`,
          fault['atSec'],
        )
      }
    })
  }
}

/**
 * The open model's keys: `arrivalRate` exactly with its executor; no subscriber count or connect
 * ramp there (arrivals are the ramp, `maxSubscribers` the bound); a measured duration, not phases.
 */
function checkArrivalRate(
  raw: Record<string, unknown>,
  executor: unknown,
  problems: Problems,
): void {
  const arrivalRate = raw['arrivalRate']
  const subscribers = isObject(raw['subscribers']) ? raw['subscribers'] : {}
  if (executor !== 'arrival-rate') {
    if (arrivalRate !== undefined) {
      problems.add('arrivalRate', 'is only for executor: arrival-rate', arrivalRate)
    }
    if (isObject(raw['subscribers']) && subscribers['count'] === undefined) {
      problems.add('subscribers.count', 'is required', subscribers['count'])
    }
    return
  }
  if (arrivalRate === undefined) {
    problems.add('arrivalRate', 'is required when executor is arrival-rate', arrivalRate)
  }
  const bound = 'arrivals are the ramp and arrivalRate.maxSubscribers the bound'
  for (const key of ['count', 'rampSec', 'rampPerSec'] as const) {
    if (subscribers[key] !== undefined) {
      problems.add(
        `subscribers.${key}`,
        `is not used by executor: arrival-rate (${bound})`,
        subscribers[key],
      )
    }
  }
  if (raw['phases'] !== undefined) {
    problems.add(
      'phases',
      'cannot be combined with executor: arrival-rate (its rate holds for durationSec)',
      raw['phases'],
    )
  }
}

/**
 * A change replaces `swap` of a subscriber's symbols by `swap` it does not hold: it needs that
 * many to give up and that many left in the universe to take, and a list to change (not pick:
 * fixed, everyone's same list; not every symbol). A URL target's universe is known only at run
 * time: there a change takes what there is to take.
 */
function checkWatchListChanges(
  raw: Record<string, unknown>,
  universe: number | undefined,
  problems: Problems,
): void {
  const arrivalRate = raw['arrivalRate']
  if (!isObject(arrivalRate) || !isObject(arrivalRate['watchListChanges'])) return
  const changes = arrivalRate['watchListChanges']
  const path = 'arrivalRate.watchListChanges'
  const subscribers = isObject(raw['subscribers']) ? raw['subscribers'] : {}
  const watchList = isObject(subscribers['watchList']) ? subscribers['watchList'] : {}
  if (watchList['pick'] === 'fixed') {
    problems.add(
      path,
      'cannot change a fixed watch-list (every subscriber holds the same symbols); use subscribers.watchList.pick: zipf or uniform',
      changes,
    )
    return
  }
  const size = typeof watchList['size'] === 'number' ? watchList['size'] : 20
  const swap = changes['swap'] ?? 1
  if (typeof swap !== 'number') return
  if (swap > size) {
    problems.add(
      `${path}.swap`,
      `must be ≤ subscribers.watchList.size (${size}): a change replaces symbols the subscriber holds`,
      swap,
    )
  }
  if (universe === undefined) return
  if (size >= universe) {
    problems.add(
      path,
      `has nothing to swap in: a watch-list of ${size} holds every one of the server's ${universe} symbols; make subscribers.watchList.size smaller`,
      changes,
    )
  } else if (swap > universe - size) {
    problems.add(
      `${path}.swap`,
      `must be ≤ ${universe - size}: the server's ${universe} symbols leave that many outside a watch-list of ${size}`,
      swap,
    )
  }
}

function universeSize(server: unknown): number | undefined {
  if (server === undefined) return PRESETS.normal.defaultSymbols
  if (!isObject(server)) return undefined
  // A tape's universe is known only once the tape is read: the server checks it then.
  if (server['tape'] !== undefined) return undefined
  if (typeof server['symbols'] === 'number') return server['symbols']
  const preset = server['preset'] ?? 'normal'
  return typeof preset === 'string' && Object.hasOwn(PRESETS, preset)
    ? PRESETS[preset as keyof typeof PRESETS].defaultSymbols
    : undefined
}

// ---------------------------------------------------------------------------------------------
// Planning and judging

/**
 * Wall seconds the runner needs, transports run one after the other: per transport the warm-up
 * plus the measured time; a capacity search counts every step up to `max`.
 */
export function estimateRunSec(scenario: Scenario): number {
  // For a capacity search durationSec is already every step's measured time.
  return (scenario.warmupSec + scenario.durationSec) * scenario.transports.length
}

/** The subscriber counts a capacity search would try, in order, up to `max`. */
export function capacityStepCounts(scenario: Scenario): number[] {
  return scenario.capacity ? stepCounts(scenario.capacity) : []
}

function stepCounts(capacity: DeepReadonly<NonNullable<ParsedScenario['capacity']>>): number[] {
  const counts: number[] = []
  let count = capacity.start
  while (count <= capacity.max && counts.length < 1000) {
    counts.push(count)
    const next =
      capacity.step.add !== undefined
        ? count + capacity.step.add
        : Math.ceil(count * (capacity.step.factor ?? 2))
    count = next > count ? next : count + 1
  }
  return counts
}
