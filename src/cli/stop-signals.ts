import { constants } from 'node:os'

// What a signal does to `tickstorm run` (one run or a set), k6's way: the first one stops the
// work and keeps what it measured; a second one exits at once.

/** The signals that stop a run: each is answered by writing what was measured. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** 128 + the signal's number: what a shell shows for a process its signal ended. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal]
}

export interface StopOnSignals {
  /** Aborted by the first signal, with that signal as its reason. */
  readonly signal: AbortSignal
  /** Settles with 128 + n on a second signal: race the work against it. */
  readonly forcedExit: Promise<number>
  /** The exit code the first signal asks for, or undefined when none came. */
  exitCode(): number | undefined
  /** Stops listening (the work is over, so a later signal is the default's again). */
  dispose(): void
}

/**
 * Listens for STOP_SIGNALS until disposed. `stopping` is said on the first signal (what this
 * command does about it); the second is said the same way by every command.
 */
export function stopOnSignals(say: (line: string) => void, stopping: string): StopOnSignals {
  const stop = new AbortController()
  let forced: (code: number) => void = () => {}
  const forcedExit = new Promise<number>((resolve) => {
    forced = resolve
  })
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      say(`tickstorm run: second signal (${signal}): exiting at once`)
      forced(signalExitCode(signal))
      return
    }
    say(`tickstorm run: ${signal}: ${stopping} (again to exit at once)`)
    stop.abort(signal)
  }
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal)
  return {
    signal: stop.signal,
    forcedExit,
    exitCode: () =>
      stop.signal.aborted ? signalExitCode(stop.signal.reason as NodeJS.Signals) : undefined,
    dispose() {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal)
    },
  }
}
