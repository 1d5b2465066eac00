/**
 * What a scenario file is not alone in deciding: `${VAR}` from the environment, substituted in
 * the text before it is parsed, and command-line overrides (`--subscribers 5`, `--set a.b=1`),
 * set on the raw parsed object before validation so they meet exactly the schema and the
 * cross-field rules the file meets, and a problem they cause names the flag that caused it.
 */

import { parseDocument } from 'yaml'
import { ERROR_CODES, Problems, TickstormError } from '../errors.js'
import { formatPath } from '../zod-problems.js'

/** Values of environment variables by name, as `process.env` holds them. */
export type ScenarioEnv = Readonly<Record<string, string | undefined>>

// ---------------------------------------------------------------------------------------------
// ${VAR} and ${VAR:-default}

/**
 * `${NAME}`, `${NAME:-default}` (default also when NAME is empty, as in sh), or `$${` for a
 * literal `${`. Anything else after `${` is an error, never passed through: a typo such as
 * `${SUBS` would otherwise reach the schema as text and be reported far from its cause.
 */
const REFERENCE = /\$\$\{|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}\n]*))?\}|[^}\n]*\}?)/g

/**
 * Substitutes environment variables in a scenario's text. It works on the text, before YAML
 * parsing, so it applies everywhere a `${` is written: values, keys, and comments too (write
 * `$${` in a comment to keep it as is). A value goes in as typed, so `count: ${SUBS}` with
 * SUBS=4 is the number 4, and a value with YAML syntax in it (`: `, `#`) needs the reference
 * quoted in the file (`"${DESCRIPTION}"`). No other shell syntax ($VAR, ${VAR-x}, nesting).
 * Returns the text, or every unset or malformed reference as a problem naming its line.
 */
export function substituteEnv(
  text: string,
  env: ScenarioEnv,
): { text: string; problems: string[] } {
  const problems: string[] = []
  // Lines counted as the matches come, in order: once over the text, however many there are.
  let line = 1
  let counted = 0
  const lineAt = (offset: number): number => {
    for (let index = text.indexOf('\n', counted); index !== -1 && index < offset; ) {
      line += 1
      index = text.indexOf('\n', index + 1)
    }
    counted = offset
    return line
  }
  const out = text.replace(
    REFERENCE,
    (match: string, name: string | undefined, fallback: string | undefined, offset: number) => {
      if (match === '$${') return '${'
      const line = lineAt(offset)
      if (name === undefined) {
        problems.push(
          `line ${line}: ${match} is not a variable reference (write \${NAME} or \${NAME:-default}, or $\${ for a literal \${)`,
        )
        return match
      }
      const value = env[name]
      if (fallback !== undefined) return value === undefined || value === '' ? fallback : value
      if (value === undefined) {
        problems.push(
          `line ${line}: \${${name}} is not set (give it a value or write \${${name}:-default})`,
        )
        return match
      }
      return value
    },
  )
  return { text: out, problems }
}

// ---------------------------------------------------------------------------------------------
// Overrides

/** A key or a list index on the way to the value an override sets. */
export type PathSegment = string | number

/**
 * One override from the command line: the flag as typed (`--subscribers`, its text `5`) and
 * what it sets, or why it sets nothing (`problem`: a duration that is not one, a bad path).
 */
export type ScenarioOverride = {
  readonly flag: string
  readonly typed: string
} & (
  | {
      readonly path: readonly PathSegment[]
      readonly value: unknown
      /** An object value is merged into an object already there (`--target URL` keeps `kind`). */
      readonly merge?: boolean
    }
  | { readonly problem: string }
)

/** The flags `tickstorm run` takes for a scenario's values, each with the key it sets. */
export const OVERRIDE_FLAGS = {
  subscribers: 'subscribers.count',
  duration: 'durationSec',
  warmup: 'warmupSec',
  transports: 'transports',
  target: 'target',
  rate: 'server.ratePerSec',
  set: 'path=value',
} as const

export type OverrideFlag = keyof typeof OVERRIDE_FLAGS

/** Turns one flag and its text into the override it stands for (never throws: see `problem`). */
export function overrideFromFlag(flag: OverrideFlag, typed: string): ScenarioOverride {
  const named = `--${flag}`
  const problems = new Problems()
  switch (flag) {
    case 'subscribers':
      return { flag: named, typed, path: ['subscribers', 'count'], value: yamlValue(typed) }
    case 'rate':
      return { flag: named, typed, path: ['server', 'ratePerSec'], value: yamlValue(typed) }
    case 'duration':
    case 'warmup': {
      const seconds = parseDurationSec(typed)
      if (seconds === undefined) {
        problems.add(named, 'must be a duration like 30, 30s, 2m, 1m30s or 500ms', typed)
        return { flag: named, typed, problem: problems.list[0]! }
      }
      return {
        flag: named,
        typed,
        path: [flag === 'duration' ? 'durationSec' : 'warmupSec'],
        value: seconds,
      }
    }
    case 'transports':
      return {
        flag: named,
        typed,
        path: ['transports'],
        value: typed.split(',').map((name) => name.trim()),
      }
    case 'target':
      return typed.trim() === 'embedded'
        ? { flag: named, typed, path: ['target'], value: 'embedded' }
        : { flag: named, typed, path: ['target'], value: { url: typed.trim() }, merge: true }
    case 'set':
      return setOverride(typed)
  }
}

/** `--set path=value`: the value is YAML (a scalar or flow: `5`, `[sse, ws]`, `{ a: 1 }`). */
function setOverride(typed: string): ScenarioOverride {
  const problems = new Problems()
  const equals = typed.indexOf('=')
  const path = equals === -1 ? undefined : parsePath(typed.slice(0, equals))
  if (path === undefined) {
    problems.add(
      '--set',
      'must be path=value, the path keys joined by dots with [i] for list items (e.g. subscribers.watchList.size=5)',
      typed,
    )
    return { flag: '--set', typed, problem: problems.list[0]! }
  }
  const value = readYaml(typed.slice(equals + 1))
  if (!value.ok) {
    problems.add('--set', 'must have a YAML value after = (quote text that is not)', typed)
    return { flag: '--set', typed, problem: problems.list[0]! }
  }
  return { flag: '--set', typed, path, value: value.value }
}

/** A flag's text as YAML reads it (`5` a number, `[a, b]` a list); text YAML cannot read stays text. */
function yamlValue(typed: string): unknown {
  const read = readYaml(typed)
  return read.ok ? read.value : typed
}

function readYaml(text: string): { ok: true; value: unknown } | { ok: false } {
  const document = parseDocument(text)
  if (document.errors.length > 0) return { ok: false }
  try {
    // toJS throws (rather than reporting) for an alias with no anchor.
    return { ok: true, value: document.toJS() as unknown }
  } catch {
    return { ok: false }
  }
}

/** Keys that would reach an object's prototype rather than a key of the scenario. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** `subscribers.watchList.size`, `faults[0].atSec` → segments; undefined when malformed. */
export function parsePath(text: string): PathSegment[] | undefined {
  if (!/^[^.[\]\s]+(?:\.[^.[\]\s]+|\[\d+\])*$/.test(text)) return undefined
  const segments: PathSegment[] = []
  for (const [, key, index] of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (key !== undefined && UNSAFE_KEYS.has(key)) return undefined
    segments.push(index !== undefined ? Number(index) : key!)
  }
  return segments
}

/**
 * Seconds in a duration as people type them: `30` (seconds), `30s`, `2m`, `1m30s`, `500ms`,
 * `1h`, `1.5s`; units in that order, each at most once. Undefined for anything else.
 */
export function parseDurationSec(text: string): number | undefined {
  const trimmed = text.trim()
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed)
  const match =
    /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(
      trimmed,
    )
  if (match === null || trimmed === '') return undefined
  const [, hours, minutes, seconds, millis] = match
  const total =
    Number(hours ?? 0) * 3600 +
    Number(minutes ?? 0) * 60 +
    Number(seconds ?? 0) +
    Number(millis ?? 0) / 1000
  // Decimal text in binary floats: 1.1 s is 1.1, not 1.1000000000000001.
  return Math.round(total * 1e9) / 1e9
}

/**
 * Applies overrides, in order (a later one wins), to a copy of a raw parsed scenario. A missing
 * mapping or list on the way is created; a path through a scalar (`target.url` when the target
 * is `embedded`) is a problem naming the flag. Keys are not checked here: the schema does that.
 */
export function applyOverrides(
  raw: Record<string, unknown>,
  overrides: readonly ScenarioOverride[],
): { raw: Record<string, unknown>; problems: string[] } {
  if (overrides.length === 0) return { raw, problems: [] }
  const copy = structuredClone(raw)
  const problems: string[] = []
  for (const override of overrides) {
    if ('problem' in override) problems.push(override.problem)
    else {
      const problem = setAt(copy, override.path, override.value, override.merge === true)
      if (problem !== undefined) problems.push(`\`${override.flag}\` ${problem}`)
    }
  }
  return { raw: copy, problems }
}

/** Sets one value; returns why it could not, if it could not. */
function setAt(
  root: Record<string, unknown>,
  path: readonly PathSegment[],
  value: unknown,
  merge: boolean,
): string | undefined {
  let container: Record<string, unknown> | unknown[] = root
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1
    const next = path[index + 1]
    if (Array.isArray(container) !== (typeof segment === 'number')) {
      const at = formatPath(path.slice(0, index))
      return typeof segment === 'number'
        ? `cannot take item [${segment}] of \`${at}\`, which is not a list`
        : `cannot set key ${segment} in \`${at}\`, which is a list (give an index: [0])`
    }
    if (Array.isArray(container) && typeof segment === 'number' && segment > container.length) {
      return `cannot set item [${segment}] of \`${formatPath(path.slice(0, index))}\`, which has ${container.length} (one past the end at most)`
    }
    const slot = container as Record<PathSegment, unknown>
    const current = slot[segment]
    if (last) {
      slot[segment] =
        merge && isMapping(current) && isMapping(value) ? { ...current, ...value } : value
      return undefined
    }
    if (current === undefined || current === null) {
      slot[segment] = typeof next === 'number' ? [] : {}
    } else if (typeof current !== 'object') {
      return `cannot set \`${formatPath(path)}\`: \`${formatPath(path.slice(0, index + 1))}\` is ${JSON.stringify(current)}, not a mapping or a list`
    }
    container = slot[segment] as Record<string, unknown> | unknown[]
  }
  return undefined
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Says each validation problem in the user's words when an override caused it: "`subscribers.count`
 * must be ≥ 1, got 0" becomes "`--subscribers` (subscribers.count) must be ≥ 1, got 0". A problem
 * belongs to the last override that set its path or something under it; or something above it
 * that the file did not have (a `--set` of a new key deep down is reported at the first unknown
 * key). Others are the file's (`server` when `--rate` only added to it) and stay as they are.
 * `fileRaw` is the file's object before the overrides.
 */
export function nameOverrideFlags(
  problems: readonly string[],
  overrides: readonly ScenarioOverride[],
  fileRaw: Record<string, unknown>,
): string[] {
  return problems.map((problem) => {
    const match = /^`([^`]+)` ([\s\S]*)$/.exec(problem)
    if (match === null) return problem
    const [, path, rest] = match as unknown as [string, string, string]
    const owner = overrides.findLast((override) => {
      if (!('path' in override)) return false
      const set = formatPath(override.path)
      if (under(path, set)) return true
      return under(set, path) && valueAt(fileRaw, parsePath(path)) === undefined
    })
    return owner === undefined ? problem : `\`${owner.flag}\` (${path}) ${rest}`
  })
}

/** Whether `path` is `base` or continues it by a key or an index. */
function under(path: string, base: string): boolean {
  return (
    path === base ||
    (path.startsWith(base) && (path[base.length] === '.' || path[base.length] === '['))
  )
}

function valueAt(root: unknown, path: readonly PathSegment[] | undefined): unknown {
  if (path === undefined) return undefined
  let value = root
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) {
      return undefined
    }
    value = (value as Record<PathSegment, unknown>)[segment]
  }
  return value
}

/** The run's overrides, effective values, on one line: `subscribers.count=5 (--subscribers 5), …`. */
export function describeOverrides(overrides: readonly ScenarioOverride[]): string {
  return overrides
    .map((override) =>
      'path' in override
        ? `${formatPath(override.path)}=${JSON.stringify(override.value)} (${override.flag} ${override.typed})`
        : `${override.flag} ${override.typed}`,
    )
    .join(', ')
}

/** A scenario problem list, thrown as the scenario loader throws its own. */
export function invalidScenario(fileName: string, problems: readonly string[]): TickstormError {
  return new TickstormError(
    ERROR_CODES.INVALID_SCENARIO,
    `invalid scenario ${fileName}:\n  - ${problems.join('\n  - ')}`,
    { details: { file: fileName, problems: [...problems] } },
  )
}
