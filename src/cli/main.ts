import { ERROR_CODES, TickstormError } from '../errors.js'
import { killEmbeddedServers } from '../harness/embedded-target.js'
import { INVALID_SCENARIO } from '../harness/scenario.js'
import { killTargetProcesses } from '../harness/target-process.js'
import { INVALID_RESULT } from '../report/result-schema.js'
import { EXIT } from './exit-codes.js'
import { versionLine } from './package-info.js'
import { compare, merge, report } from './result-commands.js'
import { run } from './run-command.js'
import { feed, serve } from './serve-command.js'
import { tape } from './tape-command.js'

const MAIN_HELP = `tickstorm — live market data over HTTP (SSE), and a harness to measure it

Usage:
  tickstorm serve [options]          serve the simulated market over SSE, long polling, WebSocket
  tickstorm feed --redis <url>       run the market into a Redis Stream, for edges on other hosts
  tickstorm run <scenario.yaml>      run a load scenario; writes results/<stamp>-<name>/
  tickstorm compare <dirA> <dirB>    baseline vs candidate, on full histograms
  tickstorm report <dir>             print a result's tables and re-render its report.html
  tickstorm merge <dir> <dir> ...    add up the results of several harness hosts (run --segment)
  tickstorm tape info <file>         what a recorded tape (LOBSTER, DBN, ITCH) holds, its peak rates
  tickstorm tape write --out <f.dbn> the model's ticks as a DBN tape (replay: serve --tape <file>)
  tickstorm <command> --help         options of a command
  tickstorm --version                version (and commit, in a git checkout)

Exit codes: 0 ok, 1 crash or an unreachable target, 2 bad command line, options, scenario or
result file, 3 a scenario's thresholds failed (or the run was invalid: the harness was
saturated; or interrupted), 130/143 a run stopped by SIGINT (Ctrl-C)/SIGTERM.
`

/** Parses and runs a command line; resolves to an exit code (the server resolves on shutdown). */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(MAIN_HELP)
    return command === undefined ? EXIT.USAGE : EXIT.OK
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`${versionLine()}\n`)
    return EXIT.OK
  }
  if (command === 'serve') return serve(rest)
  if (command === 'feed') return feed(rest)
  if (command === 'run') return run(rest)
  if (command === 'compare') return compare(rest)
  if (command === 'report') return report(rest)
  if (command === 'merge') return merge(rest)
  if (command === 'tape') return tape(rest)
  process.stderr.write(`tickstorm: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`)
  return EXIT.USAGE
}

/** Runs `main` as the process: the only place that calls process.exit. */
export function runCli(argv: readonly string[]): void {
  // However the process ends (a crash, a second Ctrl-C), no embedded server outlives it.
  process.on('exit', () => {
    killEmbeddedServers()
    killTargetProcesses()
  })
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof TickstormError) {
        process.stderr.write(`tickstorm: ${error.message} [${error.code}]\n`)
        const usage =
          error.code === ERROR_CODES.INVALID_OPTIONS ||
          error.code === ERROR_CODES.USAGE ||
          error.code === INVALID_SCENARIO ||
          error.code === INVALID_RESULT ||
          error.code === ERROR_CODES.FEED_MISMATCH
        process.exit(usage ? EXIT.USAGE : EXIT.CRASH)
      }
      if (
        error instanceof Error &&
        'code' in error &&
        String(error.code).startsWith('ERR_PARSE_ARGS')
      ) {
        process.stderr.write(`tickstorm: ${error.message} (see --help)\n`)
        process.exit(EXIT.USAGE)
      }
      process.stderr.write(
        `tickstorm: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      )
      process.exit(EXIT.CRASH)
    },
  )
}
