/**
 * zod issues in the house format ("`phases[2].durationSec` must be ≥ 1, got 0.5"), one line per
 * bad value, so every validator (scenario files, result files) reports alike.
 */
import type { z } from 'zod'
import type { Problems } from './errors.js'

/** `['phases', 2, 'durationSec']` → `phases[2].durationSec`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out === '' ? '(root)' : out
}

function join(path: readonly PropertyKey[], more: readonly PropertyKey[]): PropertyKey[] {
  return [...path, ...more]
}

/** Adds every zod issue to `problems`, one line per bad value (an unknown key each on its own). */
export function addZodIssues(
  problems: Problems,
  issues: readonly z.core.$ZodIssue[],
  options: {
    readonly prefix?: readonly PropertyKey[]
    /** What to say when a value matches none of a union's forms, by path. */
    readonly unionExpectation?: (path: readonly PropertyKey[]) => string
  } = {},
): void {
  const prefix = options.prefix ?? []
  const unionExpectation = options.unionExpectation ?? (() => 'is not any of the accepted forms')
  for (const issue of issues) {
    const path = join(prefix, issue.path)
    const input = (issue as { input?: unknown }).input
    switch (issue.code) {
      case 'unrecognized_keys': {
        const given = (typeof input === 'object' && input !== null ? input : {}) as Record<
          string,
          unknown
        >
        for (const key of issue.keys) {
          problems.add(formatPath(join(path, [key])), 'is not a known key', given[key])
        }
        break
      }
      case 'invalid_type':
        if (input === undefined) problems.add(formatPath(path), 'is required', input)
        else problems.add(formatPath(path), `must be ${article(issue.expected)}`, input)
        break
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum
        const symbol =
          issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<'
        const what =
          issue.origin === 'array'
            ? `must have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} item(s)`
            : issue.origin === 'string'
              ? `must have ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)} character(s)`
              : `must be ${symbol} ${String(bound)}`
        problems.add(formatPath(path), what, input)
        break
      }
      case 'invalid_value':
        problems.add(
          formatPath(path),
          `must be one of ${issue.values.map((value) => String(value)).join(', ')}`,
          input,
        )
        break
      case 'invalid_union': {
        // Report the branch that got furthest (an object that is almost a `{ url }`), else the
        // union's own message.
        const deeper = issue.errors.find((branch) =>
          branch.some(
            (inner) =>
              inner.path.length > 0 ||
              (inner.code !== 'invalid_type' && inner.code !== 'invalid_value'),
          ),
        )
        if (deeper) addZodIssues(problems, deeper, { prefix: path, unionExpectation })
        else problems.add(formatPath(path), unionExpectation(path), input)
        break
      }
      default:
        problems.add(formatPath(path), issue.message, input)
    }
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer'
  if (expected === 'object') return 'a mapping'
  if (expected === 'array') return 'a list'
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`
}
