import { nowUs } from '../clock.js'

/**
 * One self-correcting timer: frame `n` is due at `startUs + n·frameUs`, computed from the start
 * rather than by chaining `setTimeout(frameMs)`, so timer drift never accumulates. When the event
 * loop stalls, the next run covers every frame that fell due (one catch-up frame, not a burst of
 * them) and the lag is reported, so a stall shows up as latency instead of hiding (k6's
 * arrival-rate executors compute offsets from the start for the same reason).
 */
export interface Pacer {
  start(): void
  stop(): void
  readonly running: boolean
}

export interface PacerOptions {
  readonly frameUs: number
  /** Called once per run with the deadline of the newest due frame and the current time. */
  readonly onFrame: (deadlineUs: number, nowUs: number) => void
  readonly clock?: () => number
}

export function createPacer(options: PacerOptions): Pacer {
  const clock = options.clock ?? nowUs
  const { frameUs } = options
  let timer: NodeJS.Timeout | undefined
  let startUs = 0
  let frameIndex = 0

  const run = (): void => {
    timer = undefined
    const now = clock()
    const due = Math.floor((now - startUs) / frameUs)
    if (due > frameIndex) {
      frameIndex = due
      options.onFrame(startUs + frameIndex * frameUs, now)
    }
    schedule()
  }

  const schedule = (): void => {
    const nextDeadline = startUs + (frameIndex + 1) * frameUs
    const waitMs = Math.max(0, (nextDeadline - clock()) / 1000)
    timer = setTimeout(run, waitMs)
  }

  return {
    get running() {
      return timer !== undefined
    },
    start() {
      if (timer !== undefined) return
      startUs = clock()
      frameIndex = 0
      schedule()
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}
