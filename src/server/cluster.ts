import { Worker } from 'node:worker_threads'
import { ERROR_CODES, Problems, TickstormError } from '../errors.js'
import { createFeed } from '../feed/feed.js'
import type { ReplicaJoin } from '../feed/frame-replica.js'
import type { FrameSource, LogSource } from '../feed/log-source.js'
import { createMarket } from '../market/market.js'
import { universeOf } from '../market/tapes/tape-universe.js'
import type { Market } from '../market/types.js'
import {
  type Answers,
  type ClusterAsk,
  encodeFrame,
  type FromWorker,
  type SerializedError,
  type ToWorker,
  type WorkerCall,
  type WorkerSetup,
} from './cluster-messages.js'
import { type HealthDocument, mergeHealth, sumFields } from './health.js'
import { reservePort, urlOf } from './listen.js'
import { aggregateMetrics } from './prometheus.js'
import {
  DEFAULT_SERVER_OPTIONS,
  FEED_OPTION_KEYS,
  marketOptionsOf,
  pick,
  resolveServerOptions,
  type ServerOptions,
} from './server-options.js'
import type { ServerStats } from './server-stats.js'
import type { TickstormServer } from './tickstorm-server.js'
import { TRANSPORT_NAMES, type TransportStatsByName } from './transports/list.js'

/** Most worker threads a cluster takes (far more than cores is only contention). */
export const MAX_WORKERS = 64

export interface ClusterDeps {
  /** The worker's compiled entry point; by default `cluster-worker.js` beside this file (dist/). */
  readonly workerUrl?: URL
  /** Where frames come from; by default the options' market, paced on the main thread. */
  readonly source?: (options: ServerOptions, market: Market) => FrameSource
  /** How often each worker reports its counters for `stats()` (default 1000 ms). */
  readonly statsIntervalMs?: number
  /**
   * Every worker is an edge of this Redis Stream, reading it itself; `edge` is this thread's own
   * reader (a one-event ring), only for the head and the link in /healthz.
   */
  readonly redis?: { readonly url: string; readonly prefix: string; readonly edge: LogSource }
  /** A market of one's own (a tape replay) instead of the options' model; `source` feeds from it. */
  readonly market?: Market
}

export interface ClusterStats extends ServerStats {
  /** Each worker's own, as last reported. */
  readonly workers: readonly ServerStats[]
}

interface Thread {
  readonly worker: number
  readonly handle: Worker
  readonly calls: Map<number, { resolve(value: unknown): void; reject(error: Error): void }>
  readonly exited: Promise<void>
  alive: boolean
  closing: boolean
  stats: ServerStats | null
}

/** A worker that takes longer than this to drain is left to the process's exit guard. */
const CLOSE_TIMEOUT_MS = 10_000
/** How long the process's exit waits, in all, for workers to close their uWS sockets. */
const EXIT_GUARD_MS = 2000

/**
 * N uWS apps on one port, each in a worker thread (its own event loop, so they share the cores),
 * fed by ONE market on the main thread: every frame the feed produces is serialized once and
 * posted to every worker, whose replica encodes it with the same functions, so ids, replay ring,
 * snapshots and bytes are identical on every worker and a client may reconnect to any of them.
 *
 * The port: this uWS build sets SO_REUSEPORT (and the kernel then spreads new connections over
 * the listeners) only when it binds a nonzero port, so a port 0 is resolved first with a probe
 * bind, which also reports a port held by another process before any thread starts. Routes that
 * concern the whole server (`/v1/drop`, `/healthz`, `/metrics`) are answered by the worker that
 * got the request after asking the others through this thread.
 */
export async function createCluster(
  partial: Partial<ServerOptions>,
  workers: number,
  deps: ClusterDeps = {},
): Promise<TickstormServer> {
  const options = resolveClusterOptions(partial, workers)
  const market = deps.market ?? createMarket(marketOptionsOf(options))
  // Read before any frame: the opening book the workers start from.
  const universe = deps.market === undefined ? undefined : universeOf(deps.market)
  // The main thread serves nothing: its feed keeps the smallest replay ring (each worker has its
  // own, full size). It still encodes every event, as every Feed does; that CPU is wasted here.
  // An edge cluster's workers read Redis themselves: no frames are forwarded.
  const frames: FrameSource | null =
    deps.redis === undefined
      ? (deps.source?.(options, market) ??
        createFeed(
          { market },
          { ...pick(options, FEED_OPTION_KEYS), historyEvents: 1, historyBytes: 1024 },
        ))
      : null
  const source: LogSource = deps.redis?.edge ?? frames!
  const port = await reservePort(options.host, options.port)
  const workerUrl = deps.workerUrl ?? new URL('./cluster-worker.js', import.meta.url)
  const statsIntervalMs = deps.statsIntervalMs ?? 1000
  const startedAt = Date.now()
  const closedFlags = new Int32Array(new SharedArrayBuffer(4 * workers))
  const failureListeners: ((error: TickstormError) => void)[] = []
  let failure: TickstormError | undefined
  let closing: Promise<void> | undefined
  let nextCallId = 1

  // Every worker joins after the same head with the same latest values, and is subscribed before
  // any further frame can be produced (all of this runs without yielding).
  const join: ReplicaJoin =
    source.headSeq === 0
      ? { headSeq: 0 }
      : { headSeq: source.headSeq, states: source.symbols.map((_, i) => source.state(i)) }
  const threads: Thread[] = []
  const unsubscribe =
    frames?.onTickFrame((frame) => {
      const text = encodeFrame(frame)
      for (const thread of threads) if (thread.alive) thread.handle.postMessage(text)
    }) ?? (() => undefined)

  const call = <K extends WorkerCall['op']>(
    thread: Thread,
    request: Extract<WorkerCall, { op: K }>,
  ): Promise<Answers[K]> => {
    if (!thread.alive) return Promise.reject(new Error(`worker ${thread.worker} has exited`))
    const id = nextCallId++
    return new Promise<Answers[K]>((resolve, reject) => {
      thread.calls.set(id, { resolve: (value) => resolve(value as Answers[K]), reject })
      thread.handle.postMessage({ type: 'call', id, call: request } satisfies ToWorker)
    })
  }
  const live = () => threads.filter((thread) => thread.alive)

  const health = async (): Promise<HealthDocument> => {
    const documents = await Promise.all(live().map((thread) => call(thread, { op: 'health' })))
    const feed = source.stats()
    return mergeHealth(documents, {
      uptimeMs: Date.now() - startedAt,
      headSeq: source.headSeq,
      source: source.describe(),
      pacing: {
        frameMs: options.frameMs,
        lastLagMs: feed.lastLagUs / 1000,
        maxLagMs: feed.maxLagUs / 1000,
        meanLagMs: feed.meanLagUs / 1000,
      },
    })
  }
  const metrics = async (): Promise<string> =>
    aggregateMetrics(await Promise.all(live().map((thread) => call(thread, { op: 'metrics' }))))
  const dropClient = async (clientId: string): Promise<number> => {
    const counts = await Promise.all(live().map((thread) => call(thread, { op: 'drop', clientId })))
    return counts.reduce((sum, count) => sum + count, 0)
  }
  const answerAsk = (question: ClusterAsk): Promise<unknown> =>
    question.op === 'drop'
      ? dropClient(question.clientId)
      : question.op === 'health'
        ? health()
        : metrics()

  const listening = new Set<Thread>()
  let markListening: (thread: Thread) => void = () => {}
  let failStartup: (error: TickstormError) => void = () => {}

  const closeThread = async (thread: Thread): Promise<void> => {
    if (thread.alive && !thread.closing) {
      thread.closing = true
      await call(thread, { op: 'close' }).catch(() => undefined)
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      thread.exited,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)
      }),
    ])
    clearTimeout(timer)
  }

  const close = (): Promise<void> => {
    closing ??= (async () => {
      unsubscribe()
      await source.close()
      await Promise.all(threads.map(closeThread))
      process.off('exit', exitGuard)
    })()
    return closing
  }

  /** A worker died: drain the others, then say so. Never runs on with fewer. */
  const fail = (thread: Thread, cause: SerializedError | Error | string): void => {
    if (failure !== undefined || closing !== undefined) return
    const message = typeof cause === 'string' ? cause : cause.message
    failure = new TickstormError(
      ERROR_CODES.WORKER_CRASHED,
      `worker ${thread.worker} of ${workers} crashed: ${message}`,
      {
        details: {
          worker: thread.worker,
          workers,
          ...(typeof cause === 'object' && 'stack' in cause ? { stack: cause.stack } : {}),
        },
      },
    )
    const error = failure
    // Still starting (this worker listened, another has not yet): createCluster rejects with it.
    failStartup(error)
    void close().then(() => {
      for (const listener of failureListeners) listener(error)
    })
  }

  /**
   * A worker thread that ends while its uWS socket is open aborts the whole process (libuv:
   * "uv_loop_close() while having open handles"); `process.exit` ends every thread so. This asks
   * each worker to close, and waits (bounded) until it has, so such an exit stays clean.
   */
  const exitGuard = (): void => {
    const open = threads.filter((thread) => thread.alive)
    for (const thread of open) {
      if (!thread.closing) {
        thread.closing = true
        thread.handle.postMessage({ type: 'call', id: 0, call: { op: 'close' } } satisfies ToWorker)
      }
    }
    const deadline = Date.now() + EXIT_GUARD_MS
    for (const thread of open) {
      Atomics.wait(closedFlags, thread.worker - 1, 0, Math.max(0, deadline - Date.now()))
    }
  }
  process.on('exit', exitGuard)

  const spawn = (worker: number): Thread => {
    const share =
      options.maxConnections === 0
        ? 0
        : Math.floor(options.maxConnections / workers) +
          (worker <= options.maxConnections % workers ? 1 : 0)
    const setup: WorkerSetup = {
      worker,
      options: { ...options, port, maxConnections: share },
      join,
      closed: closedFlags,
      statsIntervalMs,
      ...(deps.redis === undefined
        ? {}
        : { redis: { url: deps.redis.url, prefix: deps.redis.prefix } }),
      ...(universe === undefined ? {} : { universe }),
    }
    const handle = new Worker(workerUrl, { workerData: setup })
    const thread: Thread = {
      worker,
      handle,
      calls: new Map(),
      exited: new Promise<void>((resolve) => handle.once('exit', () => resolve())),
      alive: true,
      closing: false,
      stats: null,
    }
    handle.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'listening':
          thread.stats = message.stats
          markListening(thread)
          break
        case 'stats':
          thread.stats = message.stats
          break
        case 'reply': {
          const pending = thread.calls.get(message.id)
          thread.calls.delete(message.id)
          pending?.resolve(message.value)
          break
        }
        case 'ask':
          answerAsk(message.ask).then(
            (value) =>
              handle.postMessage({ type: 'answer', id: message.id, value } satisfies ToWorker),
            (error: unknown) =>
              handle.postMessage({
                type: 'answer',
                id: message.id,
                error: error instanceof Error ? error.message : String(error),
              } satisfies ToWorker),
          )
          break
        case 'failed':
          if (message.listening) fail(thread, message.error)
          else failStartup(reviveError(message.error, worker))
          break
      }
    })
    // Only an error the worker could not catch itself (it catches everything once it runs).
    handle.on('error', (error) => {
      if (listening.size < workers) failStartup(reviveError(error, worker))
      else fail(thread, error)
    })
    handle.once('exit', (code) => {
      thread.alive = false
      for (const pending of thread.calls.values()) {
        pending.reject(new Error(`worker ${worker} exited`))
      }
      thread.calls.clear()
      if (!thread.closing) {
        if (listening.size < workers) {
          failStartup(
            new TickstormError(ERROR_CODES.WORKER_CRASHED, `worker ${worker} exited (${code})`),
          )
        } else fail(thread, `exited with code ${code}`)
      }
    })
    return thread
  }

  const ready = new Promise<void>((resolve, reject) => {
    markListening = (thread) => {
      listening.add(thread)
      if (listening.size === workers) resolve()
    }
    failStartup = reject
  })
  for (let worker = 1; worker <= workers; worker++) threads.push(spawn(worker))
  try {
    await ready
  } catch (error) {
    // The ones that did start are drained and closed; the first failure is the answer.
    await close()
    throw error
  }
  source.start?.()

  return {
    url: urlOf(options.host, port),
    host: options.host,
    port,
    options,
    workers,
    feed: source,
    stats() {
      // Every worker sent its first stats with `listening`.
      const each = threads.map((thread) => thread.stats!)
      return {
        uptimeMs: Date.now() - startedAt,
        // The ring and the lag as a worker has them (the main thread keeps no ring).
        feed: each[0]!.feed,
        ...(Object.fromEntries(
          TRANSPORT_NAMES.map((name) => [name, sumFields(each.map((s) => s[name]))]),
        ) as unknown as TransportStatsByName),
        lastFanoutUs: Math.max(...each.map((s) => s.lastFanoutUs)),
        maxFanoutUs: Math.max(...each.map((s) => s.maxFanoutUs)),
        auth: sumFields(each.map((s) => s.auth)),
        workers: each,
      }
    },
    health,
    metrics,
    dropClient,
    async dropStreams(count = Number.POSITIVE_INFINITY) {
      const counts = await Promise.all(
        live().map((thread) => call(thread, { op: 'dropStreams', count })),
      )
      return counts.reduce((sum, dropped) => sum + dropped, 0)
    },
    onFailure(listener) {
      if (failure !== undefined && closing !== undefined) {
        const error = failure
        void closing.then(() => listener(error))
      } else failureListeners.push(listener)
    },
    close,
  }
}

/** The server's options, plus what a cluster needs of them; every problem reported at once. */
function resolveClusterOptions(partial: Partial<ServerOptions>, workers: number): ServerOptions {
  const problems = new Problems()
  const options = problems.absorb(() => resolveServerOptions(partial))
  problems.int('workers', workers, 1, MAX_WORKERS)
  // Split between the workers, each share must be at least 1 (0 means "no bound").
  const maxConnections = partial.maxConnections ?? DEFAULT_SERVER_OPTIONS.maxConnections
  if (Number.isInteger(workers) && maxConnections > 0 && maxConnections < workers) {
    problems.add('maxConnections', `must be 0 or at least workers (${workers})`, maxConnections)
  }
  problems.throwIfAny('server options')
  return options!
}

/** A worker's startup error as the main thread's own (a listen failure keeps its code). */
function reviveError(error: SerializedError | Error, worker: number): TickstormError {
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined
  const known = Object.values(ERROR_CODES) as string[]
  if (code !== undefined && known.includes(code)) {
    const details = 'details' in error ? error.details : undefined
    return new TickstormError(code as TickstormError['code'], error.message, {
      ...(details === undefined ? {} : { details: { ...details, worker } }),
    })
  }
  return new TickstormError(
    ERROR_CODES.WORKER_CRASHED,
    `worker ${worker} failed to start: ${error.message}`,
    { details: { worker } },
  )
}
