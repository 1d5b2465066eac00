import { writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { ERROR_CODES, TickstormError } from '../errors.js'
import {
  compareResults,
  compareSets,
  DEFAULT_NOISE_RATIO,
  formatComparison,
  type RunSet,
  renderComparisonHtml,
} from '../report/compare.js'
import { formatRunSummary } from '../report/console.js'
import { renderReportHtml } from '../report/html.js'
import { writeJunit } from '../report/junit.js'
import { mergeResultDirs } from '../report/merge.js'
import { readResultDir } from '../report/read-result.js'
import { isResultSet, readResultSet } from '../report/result-set.js'
import { writeSummaryJson } from '../report/summary-json.js'
import { EXIT } from './exit-codes.js'
import { number } from './flag-values.js'

// `tickstorm compare`, `merge` and `report`: commands on result directories.

const COMPARE_HELP = `Usage: tickstorm compare <baseline> <candidate> [--noise PCT] [--html FILE] [--force]

Compares two results transport by transport: latency from the full histograms (p50, p90, p99,
p99.9, max), deliveries/s, server CPU per delivery (when both sampled the server), loss ratio,
error rate, connect p99 and recovery p99, each with the change, the relative change and a
verdict. Higher is worse for every figure but deliveries/s; the max is shown, never judged.

Each of <baseline> and <candidate> is a result directory (one run) or a set directory (from
run --repeat N; its interrupted runs are left out):
  two sets of 3 or more runs: each figure is the mean over a set's runs, and the change of the
    means gets a 95% confidence interval by bootstrap (each set's runs resampled within it,
    10,000 resamples, seed 1: the same sets always print the same interval). A figure got worse
    or better only when its interval excludes zero, else "no significant change".
  two single runs: a relative change within the noise band (--noise, default ±5%) is "same".
  a set of fewer than 3 runs (or a single run against a set): said so, and the means are
    judged against the noise band.
--html writes a page with the two percentile distributions overlaid (a set's runs added up)
and the table, intervals included. Exit code 3 when the candidate regressed.

Refused, every difference listed (exit 2): runs that did not carry the same workload, i.e. other
subscriber counts, phases, arrival rate or capacity steps, durations, transports, server options,
watch-list, executor or faults, another target, target kind or event source, or seconds measured
more than 5% (at least 1 s) apart. The scenario's name may differ. For sets this holds within
each set (every run against its first) and between the two.

Options:
  --noise <pct>    the noise band for single runs and small sets, in percent (default 5)
  --html <file>    write the comparison page there
  --force          compare them anyway: the output opens with a WARNING listing the differences
  -h, --help       this text
`

const MERGE_HELP = `Usage: tickstorm merge <dir> <dir> [...] [--out DIR] [--force] [--summary-json FILE] [--junit FILE]

Adds up the result directories of several harness hosts that ran one scenario against one
target, each with run --segment i/n, into one result directory (result.json, one HDR
interval log per transport, report.html) that report and compare read like any other.
Histograms are added per transport (latency also per interval; connect, recovery and its
split, spread, staleness), never percentiles averaged; counts summed; rates recomputed over
the window all hosts measured; the scenario's thresholds judged on the sums. The merged run
is invalid if any host's was, and says which. A figure some hosts lack is merged from the
others, with a warning; the merged spread is a lower bound (each host saw only its own
subscribers' receipts); the target's CPU and memory series are not merged.

Refused, every problem listed (exit 2): runs of different scenarios, targets or transports;
an embedded target; a capacity search; segments that overlap, differ in n or leave one out;
measurements that never overlapped in time; runs made without --segment, unless --force.

Options:
  --out <dir>      where the merged directory goes (default results/<stamp>-<name>-merged)
  --force          merge runs made without --segment: each carried the whole scenario, so the
                   target had n times its load (the merged run asks for n times the subscribers)
  --summary-json <file>  write a short, versioned JSON summary of the merged run for CI
                   (verdict, reasons, per transport latency, loss, errors, thresholds); atomically
  --junit <file>   write JUnit XML of the merged run: a test suite per transport, a test case
                   per threshold
  -h, --help       this text

Exit code 3 when the merged run fails a threshold of the scenario or is invalid.
`

const REPORT_HELP = `Usage: tickstorm report <dir> [--summary-json FILE] [--junit FILE]

Validates a result directory, prints its tables, and renders its report.html again.
Exits as the run did: 3 when it failed a threshold, was invalid or was interrupted.

Options:
  --summary-json <file>  write a short, versioned JSON summary for CI (verdict, reasons,
                         per transport latency, loss, errors, thresholds); written atomically
  --junit <file>         write JUnit XML: a test suite per transport, a test case per threshold
  -h, --help             this text
`

/** `--noise 2.5` as a ratio: a percentage from 0 to 100. */
function noiseRatioOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_NOISE_RATIO
  const percent = number(text.replace(/%$/, ''))
  if (!(percent >= 0 && percent <= 100)) {
    throw new TickstormError(
      ERROR_CODES.USAGE,
      `--noise must be a percentage from 0 to 100, got ${JSON.stringify(text)}`,
      { details: { problems: [`--noise must be from 0 to 100, got ${JSON.stringify(text)}`] } },
    )
  }
  return percent / 100
}

/** A result directory as one run, or a set directory as its finished runs. */
async function readSide(dir: string): Promise<RunSet & { readonly isSet: boolean }> {
  if (!isResultSet(dir)) {
    return { dir, name: dir, runs: [await readResultDir(dir)], isSet: false }
  }
  const set = await readResultSet(dir)
  if (set.runs.length === 0) {
    throw new TickstormError(
      ERROR_CODES.USAGE,
      `the set ${dir} has no finished run to compare${set.skipped.length > 0 ? ` (${set.skipped.join(', ')})` : ''}`,
    )
  }
  return { dir, name: basename(dir), runs: set.runs, skipped: set.skipped, isSet: true }
}

export async function compare(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      html: { type: 'string' },
      force: { type: 'boolean' },
      noise: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(COMPARE_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 2) {
    process.stderr.write(`tickstorm compare: give two result or set directories\n\n${COMPARE_HELP}`)
    return EXIT.USAGE
  }
  const noiseRatio = noiseRatioOf(values.noise)
  const [baseline, candidate] = await Promise.all(positionals.map((dir) => readSide(dir)))
  const options = { force: values.force === true, noiseRatio }
  // Different workloads throw TS_ERR_USAGE (exit 2) here unless forced.
  const comparison =
    baseline!.isSet || candidate!.isSet
      ? compareSets(baseline!, candidate!, options)
      : compareResults(baseline!.runs[0]!, candidate!.runs[0]!, options)
  process.stdout.write(`${formatComparison(comparison)}\n`)
  if (values.html !== undefined) {
    await writeFile(values.html, renderComparisonHtml(comparison))
    process.stdout.write(`\ncomparison page: ${values.html}\n`)
  }
  return comparison.transports.some((transport) => transport.regression) ? EXIT.FAILED : EXIT.OK
}

export async function merge(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      out: { type: 'string' },
      force: { type: 'boolean' },
      'summary-json': { type: 'string' },
      junit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(MERGE_HELP)
    return EXIT.OK
  }
  if (positionals.length < 2) {
    process.stderr.write(`tickstorm merge: give two or more result directories\n\n${MERGE_HELP}`)
    return EXIT.USAGE
  }
  const outcome = await mergeResultDirs(positionals, {
    ...(values.out === undefined ? {} : { outDir: values.out }),
    force: values.force === true,
  })
  for (const warning of outcome.warnings) {
    process.stderr.write(`tickstorm merge: warning: ${warning}\n`)
  }
  // The merged verdict, for CI to gate on, as `run` and `report` write it.
  if (values['summary-json'] !== undefined) {
    await writeSummaryJson(values['summary-json'], outcome.result)
  }
  if (values.junit !== undefined) await writeJunit(values.junit, outcome.result)
  process.stdout.write(`${formatRunSummary(outcome.result)}\n\nresults: ${outcome.dir}\n`)
  return outcome.result.passed ? EXIT.OK : EXIT.FAILED
}

export async function report(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      'summary-json': { type: 'string' },
      junit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(REPORT_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 1) {
    process.stderr.write(`tickstorm report: give one result directory\n\n${REPORT_HELP}`)
    return EXIT.USAGE
  }
  const loaded = await readResultDir(positionals[0]!)
  const path = join(loaded.dir, 'report.html')
  await writeFile(path, renderReportHtml(loaded.result))
  if (values['summary-json'] !== undefined) {
    await writeSummaryJson(values['summary-json'], loaded.result)
  }
  if (values.junit !== undefined) await writeJunit(values.junit, loaded.result)
  process.stdout.write(`${formatRunSummary(loaded.result)}\n\nreport: ${path}\n`)
  // As `run` exited, so CI can gate on a result it did not run itself.
  return loaded.result.passed ? EXIT.OK : EXIT.FAILED
}
