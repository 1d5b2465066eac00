/**
 * The grammar of one threshold as k6 users write it: `p(99) < 100ms`, `rate == 0`, `max < 5s`,
 * `rate < 1%`. Exact and small on purpose: an aggregation, an operator, a number and an optional
 * unit, nothing else, so a typo is an error that says what to write instead of a threshold that
 * silently judges something else.
 *
 *   expression  = aggregation operator number [unit]
 *   aggregation = "p(" number ")" | "med" | "avg" | "min" | "max" | "count" | "rate"
 *   operator    = "<" | "<=" | ">" | ">=" | "==" | "!="
 *   unit        = "ms" | "s" | "us" | "µs" | "%"
 *
 * Which aggregations and units fit which metric is threshold-metrics.ts's to say.
 */

export const OPERATORS = ['<=', '>=', '==', '!=', '<', '>'] as const
export type Operator = (typeof OPERATORS)[number]

export const UNITS = ['ms', 's', 'us', 'µs', '%'] as const
export type Unit = (typeof UNITS)[number]

export type Aggregation =
  | { readonly kind: 'p'; readonly percentile: number }
  | { readonly kind: 'med' | 'avg' | 'min' | 'max' | 'count' | 'rate' }

export interface ThresholdExpression {
  readonly aggregation: Aggregation
  readonly operator: Operator
  /** The number as written, in `unit` (none: the metric's own unit). */
  readonly value: number
  readonly unit: Unit | null
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string }

const NAMED = ['med', 'avg', 'min', 'max', 'count', 'rate'] as const
const AGGREGATIONS_HINT = 'p(N), med, avg, min, max, count or rate'
const OPERATORS_HINT = '<, <=, >, >=, == or !='
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/

/** `p(99)` → `p(99)`; `med` → `med`: how an aggregation is written back. */
export function formatAggregation(aggregation: Aggregation): string {
  return aggregation.kind === 'p' ? `p(${aggregation.percentile})` : aggregation.kind
}

/** Parses one expression; a failure says what is wrong with it and what to write instead. */
export function parseExpression(text: string): Parsed<ThresholdExpression> {
  const fail = (message: string): Parsed<ThresholdExpression> => ({ ok: false, message })
  let rest = text.trim()
  if (rest === '')
    return fail(`is empty; write an aggregation, an operator and a limit, e.g. "p(99) < 100ms"`)

  // The aggregation.
  let aggregation: Aggregation
  const percentile = /^p\s*\(([^)]*)\)/.exec(rest)
  if (percentile) {
    const inner = percentile[1]!.trim()
    const n = NUMBER.exec(inner)
    if (n === null || n[0] !== inner) {
      return fail(`has "p(${inner})": a percentile must be a number, e.g. p(99) or p(99.9)`)
    }
    const value = Number(inner)
    if (!(value > 0 && value <= 100)) {
      return fail(`has "p(${inner})": a percentile must be in (0, 100], e.g. p(99)`)
    }
    aggregation = { kind: 'p', percentile: value }
    rest = rest.slice(percentile[0].length).trimStart()
  } else {
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)?.[0]
    const named = NAMED.find((name) => name === word)
    if (named === undefined) {
      const got = word ?? rest.split(/\s/)[0] ?? rest
      const hint = /^p\d/.test(got) ? ` (k6 writes p(${got.slice(1)}))` : ''
      return fail(`has an unknown aggregation "${got}"${hint}; write ${AGGREGATIONS_HINT}`)
    }
    aggregation = { kind: named }
    rest = rest.slice(named.length).trimStart()
  }
  const written = formatAggregation(aggregation)

  // The operator.
  const operator = OPERATORS.find((op) => rest.startsWith(op))
  if (operator === undefined) {
    if (rest === '')
      return fail(`has no operator after "${written}"; write ${OPERATORS_HINT} and a limit`)
    if (rest.startsWith('=') || rest.startsWith('=>') || rest.startsWith('=<')) {
      return fail(`has "${rest.slice(0, 2).trim()}", not an operator; write ${OPERATORS_HINT}`)
    }
    return fail(`has "${rest.split(/\s/)[0]}" where an operator belongs; write ${OPERATORS_HINT}`)
  }
  rest = rest.slice(operator.length).trimStart()
  if (rest.startsWith('='))
    return fail(`has "${operator}=", not an operator; write ${OPERATORS_HINT}`)

  // The limit and its unit.
  const number = NUMBER.exec(rest)
  if (number === null) {
    return fail(
      rest === ''
        ? `has no limit after "${written} ${operator}"; write a number, e.g. "${written} ${operator} 100ms"`
        : `has "${rest}" where a number belongs, after "${written} ${operator}"`,
    )
  }
  const value = Number(number[0])
  rest = rest.slice(number[0].length).trimStart()
  if (rest === '') return { ok: true, value: { aggregation, operator, value, unit: null } }
  const word = /^\S+/.exec(rest)![0]
  const unit = UNITS.find((u) => u === word)
  if (unit === undefined) {
    const tail = rest.slice(word.length).trim()
    if (tail !== '' || /^[a-zA-Zµ%]+$/.test(word)) {
      return fail(`has an unknown unit "${rest}"; write ms, s or us for a time, % for a rate`)
    }
    return fail(`has "${rest}" after the limit; write ms, s or us for a time, % for a rate`)
  }
  const after = rest.slice(word.length).trim()
  if (after !== '')
    return fail(`has "${after}" after the limit ${number[0]}${unit}; end the expression there`)
  return { ok: true, value: { aggregation, operator, value, unit } }
}

/** Whether `actual operator limit` holds. */
export function holds(actual: number, operator: Operator, limit: number): boolean {
  switch (operator) {
    case '<':
      return actual < limit
    case '<=':
      return actual <= limit
    case '>':
      return actual > limit
    case '>=':
      return actual >= limit
    case '==':
      return actual === limit
    case '!=':
      return actual !== limit
  }
}

/**
 * Seconds in a duration of `over:` and `delayAbortEval:`: a number (seconds) or `10s`, `500ms`,
 * `2m`, `1m30s`; undefined when it is none of these.
 */
export function parseSeconds(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text)
  const parts = /^(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(text)
  if (parts === null || text === '') return undefined
  const [, m, s, ms] = parts
  return Number(m ?? 0) * 60 + Number(s ?? 0) + Number(ms ?? 0) / 1000
}
