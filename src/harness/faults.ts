import type { TransportResult } from '../report/result-schema.js'
import type { PoolHandle } from './pool-handle.js'
import type { Scenario } from './scenario.js'
import type { ServerProcess } from './server-process.js'

/**
 * The scenario's faults, fired at their times after the measurement starts: `drop` cuts a
 * fraction of the subscribers' connections (from the client side, as a network fault would),
 * `storm` cuts all of them at once, `stall` freezes the server process, `restart` kills it and
 * starts it again on the same port (the embedded server, or a `target.command`'s; a scenario
 * asking for these of a target without a process the harness may act on is refused when read). How the subscribers recover is in the result: reconnects,
 * recovery time, events recovered by replay, loss and duplicates.
 */
export function scheduleFaults(
  scenario: Scenario,
  pools: readonly PoolHandle[],
  server: ServerProcess | null,
) {
  const applied: NonNullable<TransportResult['faults']> = []
  const timers = scenario.faults.map((fault) =>
    setTimeout(() => {
      applied.push({ atSec: fault.atSec, kind: fault.kind, fraction: fault.fraction })
      switch (fault.kind) {
        case 'drop':
          for (const pool of pools) pool.drop(fault.fraction)
          break
        case 'storm':
          for (const pool of pools) pool.drop(1)
          break
        case 'stall':
          server?.stall((fault.durationSec ?? 2) * 1000)
          break
        case 'restart': {
          if (server === null) break
          const record = applied[applied.length - 1]!
          crashAndRestart(server, pools).catch((error: unknown) => {
            record.note = `the server did not come back: ${(error as Error).message.split('\n').at(-1)}`
          })
          break
        }
      }
    }, fault.atSec * 1000),
  )
  return {
    applied,
    cancel() {
      for (const timer of timers) clearTimeout(timer)
    },
  }
}

/**
 * A crash as the subscribers see it: every connection gone, the server back empty (no ring, ids
 * restarting). The server is frozen first and the subscribers' connections are cut from their
 * side, so TIME_WAIT lands on the client side: uWebSockets.js listens without SO_REUSEADDR, and a
 * killed server whose own sockets sat in TIME_WAIT could not bind its port again for a minute.
 */
async function crashAndRestart(server: ServerProcess, pools: readonly PoolHandle[]) {
  server.freeze()
  for (const pool of pools) pool.drop(1)
  await new Promise((resolve) => setTimeout(resolve, 100))
  await server.restart()
}
