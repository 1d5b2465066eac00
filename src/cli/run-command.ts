import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type RunProgress, runScenario } from '../harness/runner.js'
import { loadScenario } from '../harness/scenario.js'
import {
  describeOverrides,
  OVERRIDE_FLAGS,
  type OverrideFlag,
  overrideFromFlag,
  type ScenarioOverride,
} from '../harness/scenario-overrides.js'
import { parseSegment } from '../harness/segment.js'
import { formatCount, formatProgressLine, formatRunSummary } from '../report/console.js'
import { writeJunit } from '../report/junit.js'
import type { RunResult } from '../report/result-schema.js'
import { writeSummaryJson } from '../report/summary-json.js'
import { runDirName, writeResultDir } from '../report/write-result.js'
import { dashboardArgs, dashboardPort, openRunDashboard } from './dashboard-run.js'
import { EXIT } from './exit-codes.js'
import { integer } from './flag-values.js'
import { parseOutFlag, startOutputs } from './out-flag.js'
import { packageCommit } from './package-info.js'
import { parseRepeat, runRepeat } from './run-repeat.js'
import { stopOnSignals } from './stop-signals.js'

// `tickstorm run`: a scenario, its live progress, and what a signal does to it.

const RUN_HELP = `Usage: tickstorm run <scenario.yaml> [overrides] [--workers N] [--results DIR] [--segment i/n]

Runs a load scenario (see scenarios/): per transport it starts the target (a fresh embedded
server in a child process, or the scenario's URL), ramps the subscribers up, warms up, measures,
and writes results/<utc-stamp>-<name>/ with result.json, one HDR interval log per transport
and report.html. Prints a live progress line and a table per transport.

Overrides of the scenario's values (checked as the file is; a problem names the flag):
  --subscribers <n>    subscribers.count
  --duration <d>       durationSec: 30 (seconds), 30s, 2m, 1m30s, 500ms
  --warmup <d>         warmupSec, as --duration (0 for none)
  --transports <list>  transports, comma-separated: sse,longpoll,ws,http
  --target <url>       target: a URL (an object target keeps its other keys, e.g. kind),
                       or embedded
  --rate <n>           server.ratePerSec: the market's midday events per second
  --set <path=value>   any key: a dot path with [i] for list items, the value as YAML
                       (--set subscribers.watchList.size=5 --set 'transports=[sse,ws]'
                       --set faults[0].atSec=3); repeatable
  Applied in the order given (a later one wins); the run prints them in one line at the
  start, and result.json's scenario.parsed is the scenario they made.

Thresholds (the scenario's thresholds:, as k6 writes them) judge each transport's measurement:
  thresholds:
    latency: ["p(50) < 20ms", "p(99) < 100ms"]
    "latency{transport:ws}": ["p(99) < 50ms"]      # one transport only
    loss: ["rate == 0"]
    errors: [{ threshold: "rate < 1%", over: 10s, abortOnFail: true, delayAbortEval: 5s }]
  Metrics: latency, connect, recovery (times: p(N), med, avg, min, max; ms, s, us), loss,
  errors (rate 0..1 or %, count), deliveries, reconnects (rate per second, count); operators
  < <= > >= == !=. over: every window that long must hold; abortOnFail: stop the run as soon
  as it fails (result.json's abortedBy says which, when). The old keys (p99Ms, maxLossRatio,
  maxErrorRate, minDeliveriesPerSec) still work.

In the scenario file, \${VAR} is the environment variable VAR (unset: an error naming the
line) and \${VAR:-default} its value or, unset or empty, the default; $\${ is a literal \${.

Options:
  --workers <n>    harness worker threads (default: the scenario's, auto = one per core)
  --results <dir>  where result directories go (default results)
  --summary-json <file>
                   also write a short, versioned JSON summary for CI (verdict, reasons, per
                   transport latency, loss, errors, thresholds); written atomically
  --junit <file>   also write JUnit XML: a test suite per transport, a test case per
                   threshold, plus valid, delivered, failure and completed
  --out <kind=url> also push the live metrics, once a second per transport, and a final
                   flush (repeatable): prometheus-rw=URL (remote write with native
                   histograms, e.g. http://127.0.0.1:9090/api/v1/write) or otlp=URL
                   (OTLP/HTTP, e.g. http://127.0.0.1:4318/v1/metrics); a failed push is said
                   and counted, never fails the run
  --dashboard [port]
                   a live page on http://127.0.0.1:<port>/ (no port: a free one; the URL is
                   printed): connected subscribers, deliveries/s, latency percentiles over
                   time, errors, reconnects and the harness's own health per transport, pushed
                   over SSE; at the end the verdict and a link to report.html. Kept up until
                   Ctrl-C when stdin is a terminal, else closed when the run ends
  --segment <i/n>  run only share i of n of every subscriber count and connect rate, for n
                   harness hosts against the scenario's URL target (not an embedded one);
                   the n shares add up exactly. Then: tickstorm merge <their results>
  --repeat <n>     run it n times (2 to 50) in a row into a set, results/<stamp>-<name>-x<n>/
                   with run-1 … run-n and set.json (each run's verdict); prints a line per
                   run, then each figure's median and spread. tickstorm compare of two sets
                   gives every figure a confidence interval. A signal stops the run under
                   way and starts no other: the set keeps what it has, marked interrupted.
                   Exit code 3 when any run did not pass. Not with --summary-json, --junit
                   or --out (one file per run: tickstorm report <set>/run-<i> writes them)
  -h, --help       this text

Ctrl-C (SIGINT) or SIGTERM stops the subscribers and the embedded server, writes what was
measured so far marked interrupted (never a pass), prints the tables and exits 130 (SIGINT) or
143 (SIGTERM); a second signal exits at once (the server is still killed).

Exit code 3 when a threshold fails (an abortOnFail one stopping the run too) or the run was
invalid (the harness, not the server, was saturated); 2 for an invalid or unreadable scenario
(every problem listed with its path and value); 1 when the scenario's URL target does not answer (TS_ERR_TARGET_UNREACHABLE).
`

export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args: dashboardArgs(args),
    options: {
      workers: { type: 'string' },
      dashboard: { type: 'string' },
      results: { type: 'string', default: 'results' },
      segment: { type: 'string' },
      repeat: { type: 'string' },
      'summary-json': { type: 'string' },
      junit: { type: 'string' },
      out: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      subscribers: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      transports: { type: 'string' },
      target: { type: 'string' },
      rate: { type: 'string' },
      set: { type: 'string', multiple: true },
    },
    allowPositionals: true,
    tokens: true,
  })
  if (values.help) {
    process.stdout.write(RUN_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 1) {
    process.stderr.write(`tickstorm run: give exactly one scenario file\n\n${RUN_HELP}`)
    return EXIT.USAGE
  }
  const file = positionals[0]!
  // Checked before the scenario is read: a typo in the flag is reported as such.
  const segment = values.segment === undefined ? undefined : parseSegment(values.segment)
  const repeat = values.repeat === undefined ? undefined : parseRepeat(values.repeat, values)
  const outTargets = (values.out ?? []).map(parseOutFlag)
  const overrides = overridesOf(tokens)
  const scenario = await loadScenario(file, { env: process.env, overrides })
  if (overrides.length > 0) process.stderr.write(`overrides: ${describeOverrides(overrides)}\n`)
  const workers = values.workers === undefined ? undefined : integer(values.workers)
  if (workers !== undefined && !(workers >= 0 && workers <= 256)) {
    process.stderr.write(`tickstorm run: --workers must be from 0 to 256, got ${values.workers}\n`)
    return EXIT.USAGE
  }
  const dashboardFlag = values.dashboard === undefined ? undefined : dashboardPort(values.dashboard)
  if (dashboardFlag !== undefined && 'problem' in dashboardFlag) {
    process.stderr.write(`tickstorm run: ${dashboardFlag.problem}\n`)
    return EXIT.USAGE
  }
  if (dashboardFlag !== undefined && values.repeat !== undefined) {
    process.stderr.write('tickstorm run: --dashboard is not with --repeat\n')
    return EXIT.USAGE
  }
  const tty = process.stderr.isTTY === true
  let lastPrintMs = 0
  const say = (line: string): void => {
    process.stderr.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`)
  }
  // Known before the run starts: the outputs' `run` label and the dashboard show the runId that
  // result.json will hold.
  const runId = randomUUID()
  const outputs = startOutputs(outTargets, scenario.name, runId, say)
  const onProgress = (progress: RunProgress): void => {
    outputs?.onProgress(progress)
    dashboard?.progress(progress)
    if (progress.allConnectedSec !== null) {
      // Worth keeping on screen: how long the server took to take the whole ramp.
      const took = `[${progress.transport}]  ${formatCount(progress.connected)} subscribers connected in ${progress.allConnectedSec.toFixed(2)} s`
      process.stderr.write(tty ? `\r${took}\x1b[K\n` : `${took}\n`)
      return
    }
    const line = formatProgressLine({ ...progress })
    if (tty) process.stderr.write(`\r${line}\x1b[K`)
    else if (Date.now() - lastPrintMs >= 5000) {
      lastPrintMs = Date.now()
      process.stderr.write(`${line}\n`)
    }
  }
  const dashboard =
    dashboardFlag === undefined
      ? undefined
      : await openRunDashboard(scenario, dashboardFlag.port, runId)
  if (dashboard !== undefined) process.stdout.write(`dashboard: ${dashboard.url}\n`)
  // After the dashboard's declaration (onProgress reads it; --dashboard is refused with --repeat).
  if (repeat !== undefined) {
    return runRepeat({
      scenario,
      file,
      repeat,
      resultsRoot: values.results,
      say,
      onProgress,
      ...(workers === undefined ? {} : { workers }),
      ...(segment === undefined ? {} : { segment }),
    })
  }
  // k6's way: the first signal stops the run and keeps what it measured; a second one exits at
  // once. Either way the embedded server goes too (the exit handler in runCli kills what is left).
  const stop = stopOnSignals(
    say,
    'stopping the subscribers and the server, then writing what was measured',
  )
  // The run, then its directory (result.json, one HDR log per transport, report.html): an
  // interrupted run is written too, marked so; a second signal exits without waiting for either.
  const runAndWrite = async (): Promise<{ result: RunResult; dir: string }> => {
    const ran = await runScenario(scenario, {
      serverBin: fileURLToPath(new URL('../../../bin/tickstorm.js', import.meta.url)),
      scenarioFile: file,
      commit: packageCommit() ?? 'unknown',
      runId,
      onProgress,
      onTarget: (url, target) => {
        if (target.pid !== null)
          say(`[${target.transport}]  embedded server pid ${target.pid} on ${url}`)
      },
      signal: stop.signal,
      ...(workers === undefined ? {} : { workers }),
      ...(segment === undefined ? {} : { segment }),
    }).catch(async (error: unknown) => {
      await outputs?.finish(null)
      throw error
    })
    // The outputs' final flush: the result's own figures where they continue the live ones.
    await outputs?.finish(ran.result)
    const { result, latencyIntervals } = ran
    const dir = join(values.results, runDirName(result))
    await writeResultDir(dir, result, latencyIntervals)
    // Interrupted runs too: CI should see what was measured and why it did not pass.
    if (values['summary-json'] !== undefined) await writeSummaryJson(values['summary-json'], result)
    if (values.junit !== undefined) await writeJunit(values.junit, result)
    return { result, dir }
  }
  let outcome: { result: RunResult; dir: string } | { failed: unknown } | number
  try {
    outcome = await Promise.race([
      runAndWrite().catch((error: unknown) => ({ failed: error })),
      stop.forcedExit,
    ])
  } finally {
    stop.dispose()
  }
  if (typeof outcome === 'number') return outcome
  if ('failed' in outcome) {
    // The run could not finish (an unreachable target, a crash): the page says so too, rather
    // than reconnecting to nothing; then the error goes on to its exit code.
    if (dashboard !== undefined) {
      dashboard.fail(outcome.failed)
      await dashboard.linger((line) => process.stdout.write(line))
    }
    throw outcome.failed
  }
  if (tty) process.stderr.write('\n')
  process.stdout.write(`${formatRunSummary(outcome.result)}\n\nresults: ${outcome.dir}\n`)
  if (dashboard !== undefined) {
    dashboard.finish(outcome.result, outcome.dir)
    await dashboard.linger((line) => process.stdout.write(line))
  }
  return stop.exitCode() ?? (outcome.result.passed ? EXIT.OK : EXIT.FAILED)
}

/** The scenario overrides on the command line, in the order typed (a later one wins). */
function overridesOf(tokens: readonly ParseArgsToken[]): ScenarioOverride[] {
  return tokens.flatMap((token) =>
    token.kind === 'option' && Object.hasOwn(OVERRIDE_FLAGS, token.name)
      ? [overrideFromFlag(token.name as OverrideFlag, token.value ?? '')]
      : [],
  )
}

type ParseArgsToken = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number]
