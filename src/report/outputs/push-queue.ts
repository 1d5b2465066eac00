/**
 * One output's sends, off the run's path: `offer` never waits, one request is in flight at a
 * time (Prometheus refuses a sample older than the series' last, so requests must arrive in
 * order), and at most `capacity` wait behind it. The figures are cumulative, so when the queue is
 * full the OLDEST waiting one is dropped: the newer one carries everything it had. Every
 * outcome is counted for the report at the end.
 */

export interface PushStats {
  /** Requests the receiver accepted. */
  readonly sent: number
  /** Requests that failed (refused, timed out, unreachable). */
  readonly failed: number
  /** Waiting snapshots dropped because a newer one superseded them in a full queue. */
  readonly dropped: number
  /** Still waiting or in flight when the drain's deadline came. */
  readonly abandoned: number
  /** The last failure, as said to the user. */
  readonly lastError: string | null
}

export interface PushQueue<T> {
  /** Queues a send; returns at once. */
  offer(item: T): void
  /** Waits for what is queued to be sent, at most `deadlineMs`; no offer is taken after. */
  drain(deadlineMs: number): Promise<PushStats>
}

/** Each waiting item is a full cumulative snapshot: a few are plenty. */
export const DEFAULT_QUEUE_CAPACITY = 4

export function createPushQueue<T>(
  send: (item: T) => Promise<void>,
  options: {
    readonly capacity?: number
    /** Called on the first failure, so the user hears of it while the run goes on. */
    readonly onFirstFailure?: (message: string) => void
  } = {},
): PushQueue<T> {
  const capacity = options.capacity ?? DEFAULT_QUEUE_CAPACITY
  const waiting: T[] = []
  let inFlight: Promise<void> | null = null
  let closed = false
  let sent = 0
  let failed = 0
  let dropped = 0
  let lastError: string | null = null

  const pump = (): void => {
    if (inFlight !== null) return
    const item = waiting.shift()
    if (item === undefined) return
    inFlight = send(item)
      .then(
        () => {
          sent++
        },
        (error: unknown) => {
          failed++
          lastError = error instanceof Error ? error.message : String(error)
          if (failed === 1) options.onFirstFailure?.(lastError)
        },
      )
      .finally(() => {
        inFlight = null
        pump()
      })
  }

  return {
    offer(item) {
      if (closed) return
      if (waiting.length >= capacity) {
        waiting.shift()
        dropped++
      }
      waiting.push(item)
      pump()
    },
    async drain(deadlineMs) {
      closed = true
      const deadline = Date.now() + deadlineMs
      while ((inFlight !== null || waiting.length > 0) && Date.now() < deadline) {
        pump()
        let timer: NodeJS.Timeout | undefined
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
        })
        await Promise.race([inFlight ?? Promise.resolve(), timeout])
        clearTimeout(timer)
      }
      const abandoned = waiting.length + (inFlight === null ? 0 : 1)
      waiting.length = 0
      return Object.freeze({ sent, failed, dropped, abandoned, lastError })
    },
  }
}
