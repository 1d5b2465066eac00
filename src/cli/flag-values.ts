import { ERROR_CODES, TickstormError } from '../errors.js'

// Command-line values as typed, and problems said in the user's words (the flag, the text).

export function integer(value: string): number {
  return /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN
}

export function number(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value)
}

/** Where an option came from: the flag (or variable) that set it, and the text typed. */
export type OptionSources = Map<string, { readonly name: string; readonly typed?: string }>

/**
 * The option resolvers name problems by option key (`frameMs`), and a flag that is not a number
 * reaches them as NaN; the user typed `--frame-ms abc`. This says each problem in the user's
 * words: the flag (or environment variable) and, for numbers, the text as typed.
 */
export async function namingFlags<T>(given: OptionSources, resolve: () => Promise<T>): Promise<T> {
  try {
    return await resolve()
  } catch (error) {
    const problems = error instanceof TickstormError ? error.details?.['problems'] : undefined
    if (
      !(error instanceof TickstormError) ||
      error.code !== ERROR_CODES.INVALID_OPTIONS ||
      !Array.isArray(problems)
    ) {
      throw error
    }
    const named = (problems as string[]).map((problem) => {
      const match = /^`([^`]+)` ([\s\S]*)$/.exec(problem)
      if (match === null) return problem
      const [, path, rest] = match as unknown as [string, string, string]
      // `corsOrigins[1]` is the --cors-origin flag; its problem shows the one bad origin.
      const key = /^[^.[]+/.exec(path)![0]
      const source = given.get(key)
      if (source === undefined) return problem
      const said =
        source.typed !== undefined && key === path
          ? rest.replace(/, got [^,]*$/, `, got ${JSON.stringify(source.typed)}`)
          : rest
      return `${source.name} ${said}`
    })
    const head = error.message.split('\n', 1)[0]
    throw new TickstormError(error.code, `${head}\n  - ${named.join('\n  - ')}`, {
      cause: error,
      details: { ...error.details, problems: named },
    })
  }
}
