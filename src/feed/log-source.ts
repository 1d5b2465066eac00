import type { TickstormError } from '../errors.js'
import type { EventLog, TickFrame } from './event-log.js'

/**
 * Where a server's events come from (centrifuge's `Broker`): an event log with a lifecycle. The
 * implementations, all in this folder: the local market paced in this process (`createFeed`), a
 * worker thread's copy of its cluster's log (`createFrameReplica`), and an edge following a
 * generator's Redis Stream (`openRedisEdge`). The server reads the log, starts the source once it
 * listens and closes it when it closes; it never asks which kind it has.
 */
export interface LogSource extends EventLog {
  /** What the events come from and how that link is doing, for /healthz (`source`). */
  describe(): Readonly<Record<string, unknown>>
  /**
   * Begins producing (a market's pacer, a Redis read loop), once the server listens. A source fed
   * from outside (a replica) has nothing to start and leaves it out.
   */
  start?(): void
  /** Stops for good and lets go of what it holds (timers, connections). */
  close(): Promise<void>
  /**
   * Called when the log started over past a gap (a Redis edge that was away longer than the
   * stream's window): open connections must reconnect and resume by id. Returns the unsubscribe.
   */
  onReset?(listener: () => void): () => void
  /**
   * Called once if the source fails for good (it can no longer follow its events); the server
   * reports it through its own `onFailure`. A source that cannot fail leaves it out.
   */
  onFailure?(listener: (error: TickstormError) => void): void
}

/**
 * A source whose frames can be copied elsewhere as they are produced: the local market, whose
 * frames a cluster's main thread posts to its workers' replicas.
 */
export interface FrameSource extends LogSource {
  start(): void
  onTickFrame(listener: (frame: TickFrame) => void): () => void
}

/** Listeners of one event, called in order (on the frame path: no copy, no allocation). */
export function createListeners<T>(): {
  add(listener: (value: T) => void): () => void
  emit(value: T): void
} {
  const listeners: ((value: T) => void)[] = []
  return {
    add(listener) {
      listeners.push(listener)
      return () => {
        const index = listeners.indexOf(listener)
        if (index >= 0) listeners.splice(index, 1)
      }
    },
    emit(value) {
      for (const listener of listeners) listener(value)
    },
  }
}
