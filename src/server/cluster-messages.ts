/**
 * What a cluster's main thread and its worker threads say to each other (cluster.ts and
 * cluster-worker.ts). Every call carries an `id` and is answered with the same `id`.
 */

import type { TickFrame } from '../feed/event-log.js'
import type { ReplicaJoin } from '../feed/frame-replica.js'
import type { UniverseEntry } from '../market/tapes/tape-universe.js'
import type { HealthDocument } from './health.js'
import type { MetricsJson } from './prometheus.js'
import type { ServerOptions } from './server-options.js'
import type { ServerStats } from './server-stats.js'

/** What a worker thread starts with (`workerData`). */
export interface WorkerSetup {
  /** 1-based, for messages and /healthz's `perWorker`. */
  readonly worker: number
  /** The cluster's options with this worker's port (shared) and connection share. */
  readonly options: ServerOptions
  readonly join: ReplicaJoin
  /** Set to 1 (and notified) at index `worker - 1` once the worker has closed its server. */
  readonly closed: Int32Array
  /** How often a worker sends its stats unasked, for the cluster's synchronous `stats()`. */
  readonly statsIntervalMs: number
  /**
   * Set for edges (`serve --redis --workers N`): the worker reads the generator's Redis Stream
   * itself, as one more edge, instead of taking frames from the main thread.
   */
  readonly redis?: { readonly url: string; readonly prefix: string }
  /**
   * Set when the main thread replays a tape (`serve --tape --workers N`): the universe and opening
   * book, which no seed rebuilds.
   */
  readonly universe?: readonly UniverseEntry[]
}

/**
 * Main thread → worker. A frame is a bare string, the JSON of one TickFrame, serialized once for
 * every worker: cheaper than a structured clone per worker on both sides, at every frame size
 * measured (bench/micro/frame-transfer.bench.ts); anything else is an object.
 */
export type ToWorker =
  | string
  | { readonly type: 'call'; readonly id: number; readonly call: WorkerCall }
  | { readonly type: 'answer'; readonly id: number; readonly value: unknown }
  | { readonly type: 'answer'; readonly id: number; readonly error: string }

/** What the main thread asks one worker about itself. */
export type WorkerCall =
  | { readonly op: 'drop'; readonly clientId: string }
  /** Cuts up to `count` connections of each transport, as a network fault would. */
  | { readonly op: 'dropStreams'; readonly count: number }
  | { readonly op: 'health' }
  | { readonly op: 'metrics' }
  /** Drain and close, then let the thread end. */
  | { readonly op: 'close' }

/** What a worker asks the main thread about the whole cluster (its route hooks). */
export type ClusterAsk =
  | { readonly op: 'drop'; readonly clientId: string }
  | { readonly op: 'health' }
  | { readonly op: 'metrics' }

/** Worker → main thread. */
export type FromWorker =
  | { readonly type: 'listening'; readonly port: number; readonly stats: ServerStats }
  /** Startup failed, or the worker hit an uncaught error and is going down. */
  | { readonly type: 'failed'; readonly error: SerializedError; readonly listening: boolean }
  | { readonly type: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly type: 'ask'; readonly id: number; readonly ask: ClusterAsk }
  | { readonly type: 'stats'; readonly stats: ServerStats }

export interface SerializedError {
  readonly code: string | undefined
  readonly message: string
  readonly details: Readonly<Record<string, unknown>> | undefined
  readonly stack: string | undefined
}

/** The answers, by op. */
export interface Answers {
  readonly drop: number
  readonly dropStreams: number
  readonly health: HealthDocument
  readonly metrics: MetricsJson
  readonly close: null
}

export function encodeFrame(frame: TickFrame): string {
  return JSON.stringify(frame)
}

/** Ticks are plain integer and string data, so JSON carries them exactly. */
export function decodeFrame(text: string): TickFrame {
  return JSON.parse(text) as TickFrame
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const coded = error as Error & { code?: unknown; details?: unknown }
    return {
      code: typeof coded.code === 'string' ? coded.code : undefined,
      message: error.message,
      details:
        typeof coded.details === 'object' && coded.details !== null
          ? (coded.details as Record<string, unknown>)
          : undefined,
      stack: error.stack,
    }
  }
  return { code: undefined, message: String(error), details: undefined, stack: undefined }
}
