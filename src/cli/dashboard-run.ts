import { join } from 'node:path'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { RunProgress } from '../harness/runner.js'
import type { Scenario } from '../harness/scenario.js'
import { type Dashboard, startDashboard } from '../report/dashboard/server.js'
import type { RunResult } from '../report/result-schema.js'
import { verdictOf } from '../report/verdict.js'
import { integer } from './flag-values.js'

// `tickstorm run --dashboard [PORT]`: the flag's optional value, and the dashboard's life around
// a run (started before it, fed its progress, told its verdict, then closed or kept open).

/**
 * `--dashboard` takes an optional port, which node's parseArgs cannot express: a bare
 * `--dashboard` becomes `--dashboard=0` (an ephemeral port), unless the next word is a number
 * (`--dashboard 8080`), which parseArgs then reads as its value. So `run --dashboard s.yaml`
 * keeps s.yaml as the scenario.
 */
export function dashboardArgs(args: readonly string[]): string[] {
  return args.map((arg, index) =>
    arg === '--dashboard' && !/^\d+$/.test(args[index + 1] ?? '') ? '--dashboard=0' : arg,
  )
}

/** The flag's port, or a problem naming the flag and what was typed. */
export function dashboardPort(value: string): { port: number } | { problem: string } {
  const port = integer(value)
  return Number.isInteger(port) && port >= 0 && port <= 65_535
    ? { port }
    : { problem: `--dashboard must be a port from 0 to 65535, got ${JSON.stringify(value)}` }
}

export interface RunDashboard {
  readonly url: string
  progress(progress: RunProgress): void
  /** The verdict and report.html of the written run. */
  finish(result: RunResult, dir: string): void
  /**
   * The run ended without a result (an unreachable target, a crash): a FAILED `done` with the
   * error, so the page shows why instead of reconnecting to a run that is gone.
   */
  fail(error: unknown): void
  /**
   * After the run: with a person at a terminal (stdin a TTY), keeps the page up until Ctrl-C
   * (or SIGTERM); otherwise (CI, tests, a pipe) closes at once, so the command ends.
   */
  linger(write: (line: string) => void): Promise<void>
  close(): Promise<void>
}

/** `runId` is the one result.json will hold: the page shows it, so the two can be matched. */
export async function openRunDashboard(
  scenario: Scenario,
  port: number,
  runId: string,
): Promise<RunDashboard> {
  const dashboard: Dashboard = await startDashboard({
    port,
    scenario: scenario.name,
    transports: scenario.transports,
    runId,
  }).catch((error: unknown) => {
    // A port that is taken is the command line's problem: said with the flag, exit 2.
    if (error instanceof TickstormError && error.code === ERROR_CODES.LISTEN_FAILED) {
      throw new TickstormError(ERROR_CODES.USAGE, `--dashboard ${port}: ${error.message}`, {
        cause: error,
      })
    }
    throw error
  })
  return {
    url: dashboard.url,
    progress: (progress) => void dashboard.push(progress),
    finish(result, dir) {
      const verdict = verdictOf(result)
      dashboard.finish({
        label: verdict.label,
        reasons: verdict.reasons,
        resultDir: dir,
        reportPath: join(dir, 'report.html'),
      })
    },
    fail(error) {
      const message = error instanceof Error ? error.message : String(error)
      const code = error instanceof TickstormError ? ` [${error.code}]` : ''
      dashboard.finish({
        label: 'FAILED',
        reasons: [`the run ended without a result: ${message}${code}`],
        resultDir: null,
        reportPath: null,
      })
    },
    async linger(write) {
      if (process.stdin.isTTY === true) {
        write(`dashboard still at ${dashboard.url}, Ctrl-C to exit\n`)
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop)
            process.off('SIGTERM', stop)
            resolve()
          }
          process.on('SIGINT', stop)
          process.on('SIGTERM', stop)
        })
      }
      await dashboard.close()
    },
    close: () => dashboard.close(),
  }
}
