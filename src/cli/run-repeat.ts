import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ERROR_CODES, TickstormError } from '../errors.js'
import { type RunProgress, runScenario } from '../harness/runner.js'
import type { Scenario } from '../harness/scenario.js'
import { transportFigures } from '../report/compare-figures.js'
import { formatCount, formatUs } from '../report/console.js'
import { type LoadedResult, readResultDir } from '../report/read-result.js'
import type { Segment } from '../report/result-schema.js'
import {
  MAX_SET_RUNS,
  MIN_SET_RUNS,
  type SetManifest,
  setDirName,
  writeSetManifest,
} from '../report/result-set.js'
import { formatSetSummary } from '../report/set-summary.js'
import { formatVerdict, verdictOf } from '../report/verdict.js'
import { resultDirName, writeResultDir } from '../report/write-result.js'
import { EXIT } from './exit-codes.js'
import { integer } from './flag-values.js'
import { packageCommit } from './package-info.js'
import { stopOnSignals } from './stop-signals.js'

// `tickstorm run --repeat N`: one scenario N times in a row, kept as a set that `compare` reads
// for its noise (a confidence interval over the runs instead of a fixed ±5 %).

/**
 * Flags a set has no single file for: each run's summary or JUnit would overwrite the last, and
 * pushing N runs' live metrics as one series would splice them. Each run's directory can be
 * given to `tickstorm report --summary-json/--junit` afterwards.
 */
const NOT_WITH_REPEAT = ['summary-json', 'junit', 'out'] as const

/**
 * `--repeat N` checked before the scenario is read: a whole number from 2 to 50, and none of
 * the flags that write one file per run.
 */
export function parseRepeat(
  text: string,
  given: Readonly<Partial<Record<(typeof NOT_WITH_REPEAT)[number], unknown>>>,
): number {
  const repeat = integer(text)
  const problems: string[] = []
  if (!(repeat >= MIN_SET_RUNS && repeat <= MAX_SET_RUNS)) {
    problems.push(
      `--repeat must be a whole number from ${MIN_SET_RUNS} to ${MAX_SET_RUNS}, got ${JSON.stringify(text)}`,
    )
  }
  for (const flag of NOT_WITH_REPEAT) {
    if (given[flag] !== undefined) {
      problems.push(
        `--${flag} writes one run's file and cannot take a set: run tickstorm report <set>/run-<i> --${flag} for a run of it`,
      )
    }
  }
  if (problems.length > 0) {
    throw new TickstormError(ERROR_CODES.USAGE, problems.join('\n'), { details: { problems } })
  }
  return repeat
}

export interface RepeatOptions {
  readonly scenario: Scenario
  /** The scenario file, recorded in every run's result and in set.json. */
  readonly file: string
  readonly repeat: number
  /** Where the set's directory goes (`--results`). */
  readonly resultsRoot: string
  readonly workers?: number
  readonly segment?: Segment
  /** The single run's live progress printer, shared so a set's runs look like runs. */
  readonly onProgress: (progress: RunProgress) => void
  /** A line on stderr (above the live line on a terminal). */
  readonly say: (line: string) => void
}

/**
 * `run 2/5  PASSED  (sse p99 1.23 ms, 1,240/s; ws …)`: one line per finished run, its figures
 * read as compare and the summary read them (from the full histogram).
 */
function runLine(index: number, repeat: number, loaded: LoadedResult): string {
  const figures = loaded.result.transports.flatMap((t) => {
    const read = transportFigures(loaded, t.transport)
    if (t.failure !== undefined || read === null) return []
    return [
      `${t.transport} p99 ${formatUs(read.get('p99') ?? 0)}, ${formatCount(read.get('deliveries/s') ?? 0)}/s`,
    ]
  })
  const shown = figures.length === 0 ? '' : `  (${figures.join('; ')})`
  return `run ${index}/${repeat}  ${formatVerdict(loaded.result)}${shown}`
}

/**
 * Runs the scenario `repeat` times, one after the other, each as `run` would (a fresh embedded
 * server per transport) into `<set>/run-<i>`, and set.json after each. A signal stops the run
 * under way as it stops a single one (what it measured is kept, marked interrupted), starts no
 * other, and leaves the set marked interrupted; a second exits at once. Exit code: the signal's
 * as for a run, else 3 when any run did not pass, else 0.
 */
export async function runRepeat(options: RepeatOptions): Promise<number> {
  const { scenario, repeat, say } = options
  const startedAt = new Date()
  const name = options.segment
    ? `${scenario.name}-seg${options.segment.index}of${options.segment.count}`
    : scenario.name
  const setDir = join(options.resultsRoot, setDirName(resultDirName(startedAt, name), repeat))
  await mkdir(setDir, { recursive: true })
  const manifest: SetManifest = {
    setVersion: 1,
    scenario: { name: scenario.name, file: options.file },
    repeat,
    startedAt: startedAt.toISOString(),
    endedAt: null,
    interrupted: false,
    runs: [],
  }
  await writeSetManifest(setDir, manifest)
  say(`set of ${repeat} runs: ${setDir}`)

  // The signals stop a set as they stop a single run; the set keeps the runs done.
  const stop = stopOnSignals(
    say,
    'stopping this run as a single run stops, keeping the set with the runs done; no further run starts',
  )

  const loaded: LoadedResult[] = []
  const tty = process.stderr.isTTY === true
  const runAll = async (): Promise<void> => {
    for (let index = 1; index <= repeat && !stop.signal.aborted; index++) {
      say(`run ${index}/${repeat}`)
      const { result, latencyIntervals } = await runScenario(scenario, {
        serverBin: fileURLToPath(new URL('../../../bin/tickstorm.js', import.meta.url)),
        scenarioFile: options.file,
        commit: packageCommit() ?? 'unknown',
        onProgress: options.onProgress,
        signal: stop.signal,
        ...(options.workers === undefined ? {} : { workers: options.workers }),
        ...(options.segment === undefined ? {} : { segment: options.segment }),
      })
      const dir = `run-${index}`
      await writeResultDir(join(setDir, dir), result, latencyIntervals)
      const verdict = verdictOf(result)
      manifest.runs.push({
        dir,
        runId: result.runId,
        verdict: verdict.label,
        reasons: [...verdict.reasons],
      })
      manifest.interrupted = stop.signal.aborted
      manifest.endedAt = new Date().toISOString()
      // After every run: a crash or a second signal leaves the runs done readable.
      await writeSetManifest(setDir, manifest)
      const back = await readResultDir(join(setDir, dir))
      loaded.push(back)
      if (tty) process.stderr.write('\n')
      process.stdout.write(`${runLine(index, repeat, back)}\n`)
    }
  }
  let outcome: number | undefined
  try {
    outcome = await Promise.race([runAll().then(() => undefined), stop.forcedExit])
  } finally {
    stop.dispose()
  }
  if (outcome !== undefined) return outcome

  const finished = loaded.filter((run) => run.result.interrupted !== true)
  const failed = manifest.runs.filter((run) => run.verdict !== 'PASSED').length
  const verdict = manifest.interrupted
    ? `INTERRUPTED after ${manifest.runs.length} of ${repeat} runs`
    : failed === 0
      ? `PASSED: ${repeat} of ${repeat} runs`
      : `FAILED: ${failed} of ${repeat} runs did not pass`
  const summary = finished.length === 0 ? '' : `${formatSetSummary(finished)}\n\n`
  process.stdout.write(`\n${summary}${verdict}\n\nset: ${setDir}\n`)
  return stop.exitCode() ?? (failed === 0 ? EXIT.OK : EXIT.FAILED)
}
