/**
 * A set of runs (`run --repeat N`): one directory holding `run-1` … `run-N`, each an ordinary
 * result directory, and `set.json`, which says what the set is (its scenario, how many runs
 * were asked, whether a signal cut it short) and each run's verdict. `compare` reads a set to
 * take the noise from the runs themselves instead of a fixed band.
 *
 * set.json is written after every run, atomically (a temporary file renamed over it), so a set
 * cut short by a crash or a second signal still lists every run it finished.
 */

import { existsSync } from 'node:fs'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { Problems, TickstormError } from '../errors.js'
import { describeFileError } from '../file-error.js'
import { addZodIssues } from '../zod-problems.js'
import { type LoadedResult, readResultDir } from './read-result.js'
import { INVALID_RESULT } from './result-schema.js'

/** Bumped when a field is renamed, removed or changes meaning; added fields keep the version. */
export const SET_VERSION = 1

export const SET_FILE = 'set.json'

/** Bounds of `--repeat`: one run is no set; more than 50 is hours of a machine, not a check. */
export const MIN_SET_RUNS = 2
export const MAX_SET_RUNS = 50

const setRunSchema = z.strictObject({
  /** The run's directory inside the set: `run-1`, `run-2`, … */
  dir: z.string().regex(/^run-\d+$/),
  /** The run's id, as its result.json has it. */
  runId: z.string().min(1),
  /** As the run's console line and --summary-json say it. */
  verdict: z.enum(['PASSED', 'FAILED', 'INTERRUPTED']),
  /** Why it did not pass, one line each; empty when it passed. */
  reasons: z.array(z.string()),
})

const setSchema = z.strictObject({
  setVersion: z.literal(SET_VERSION),
  scenario: z.strictObject({ name: z.string().min(1), file: z.string() }),
  /** How many runs were asked for (`--repeat`); `runs` holds fewer when interrupted. */
  repeat: z.number().int().min(MIN_SET_RUNS).max(MAX_SET_RUNS),
  startedAt: z.string(),
  /** When the last run ended; null while the set is still running. */
  endedAt: z.string().nullable(),
  /** A signal stopped the set: the run it cut is listed as INTERRUPTED, no later run started. */
  interrupted: z.boolean(),
  runs: z.array(setRunSchema),
})

export type SetManifest = z.infer<typeof setSchema>

export interface LoadedSet {
  readonly dir: string
  readonly manifest: SetManifest
  /**
   * The runs that ran to their end (PASSED or FAILED), loaded. An interrupted run measured only
   * part of the workload: it is left out, as its figures are not the others'.
   */
  readonly runs: readonly LoadedResult[]
  /** The runs left out, by directory (`run-3`), and why. */
  readonly skipped: readonly string[]
}

/** `<stamp>-<name>-x5`: a set's directory sorts by time beside single runs and says its size. */
export function setDirName(runDirName: string, repeat: number): string {
  return `${runDirName}-x${repeat}`
}

/** Whether `dir` holds a set of runs rather than one run. */
export function isResultSet(dir: string): boolean {
  return existsSync(join(dir, SET_FILE))
}

/** Writes set.json atomically: a reader sees the previous file or this one, never a torn one. */
export async function writeSetManifest(dir: string, manifest: SetManifest): Promise<void> {
  const valid = setSchema.parse(manifest)
  const path = join(dir, SET_FILE)
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(valid, null, 2)}\n`)
  await rename(temporary, path)
}

function invalid(path: string, problems: readonly string[]): TickstormError {
  return new TickstormError(
    INVALID_RESULT,
    `${path} is not a valid tickstorm set:\n  - ${problems.join('\n  - ')}`,
    { details: { source: path, problems: [...problems] } },
  )
}

/** set.json validated; the version checked first, so a newer file is refused by its version. */
export async function readSetManifest(dir: string): Promise<SetManifest> {
  const path = join(dir, SET_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (cause) {
    const why = describeFileError(cause)
    throw new TickstormError(INVALID_RESULT, `cannot read the set file ${path}: ${why}`, {
      cause,
      details: { source: path, problems: [`cannot read ${path}: ${why}`] },
    })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw invalid(path, ['not JSON'])
  }
  const version =
    typeof json === 'object' && json !== null
      ? (json as Record<string, unknown>)['setVersion']
      : undefined
  if (version !== SET_VERSION) {
    throw invalid(path, [
      typeof version === 'number' && version > SET_VERSION
        ? `setVersion ${version} is newer than this tickstorm reads (${SET_VERSION})`
        : `setVersion must be ${SET_VERSION}, got ${JSON.stringify(version ?? null)}`,
    ])
  }
  const parsed = setSchema.safeParse(json, { reportInput: true })
  if (!parsed.success) {
    const problems = new Problems()
    addZodIssues(problems, parsed.error.issues)
    throw invalid(path, problems.list)
  }
  return parsed.data
}

/** A set directory: its manifest, and every run that ran to its end loaded as `compare` reads one. */
export async function readResultSet(dir: string): Promise<LoadedSet> {
  const manifest = await readSetManifest(dir)
  const runs: LoadedResult[] = []
  const skipped: string[] = []
  for (const run of manifest.runs) {
    if (run.verdict === 'INTERRUPTED') {
      skipped.push(`${run.dir} (interrupted)`)
      continue
    }
    runs.push(await readResultDir(join(dir, run.dir)))
  }
  return { dir, manifest, runs, skipped }
}
