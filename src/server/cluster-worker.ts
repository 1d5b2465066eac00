// One worker thread of a cluster (see cluster.ts): a complete server on the shared port, its events
// copied from the main thread's feed frame by frame. Runs from compiled output, like pool-worker.js.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import type { TickFrame } from '../feed/event-log.js'
import { createFrameReplica, type FrameReplica, mergeTickFrames } from '../feed/frame-replica.js'
import type { LogSource } from '../feed/log-source.js'
import { openRedisEdge } from '../feed/redis-edge.js'
import { createMarket } from '../market/market.js'
import { universeMarket } from '../market/tapes/tape-universe.js'
import type { Market } from '../market/types.js'
import { type ServerApp, startApp } from './app.js'
import {
  type Answers,
  type ClusterAsk,
  decodeFrame,
  type FromWorker,
  serializeError,
  type ToWorker,
  type WorkerCall,
  type WorkerSetup,
} from './cluster-messages.js'
import type { HealthDocument } from './health.js'
import { marketOptionsOf } from './server-options.js'

const port = parentPort
if (port === null) throw new Error('cluster-worker.js runs in a worker thread')
const setup = workerData as WorkerSetup
const post = (message: FromWorker) => port.postMessage(message)
const edgeLog = (line: string): void => {
  process.stderr.write(`tickstorm edge (worker ${setup.worker}): ${line}\n`)
}

/** This worker's copy of the log (not in an edge cluster), made by `start` before it awaits. */
let replica: FrameReplica | undefined
let pending: TickFrame[] = []
const appendPending = (): void => {
  if (pending.length === 0) return // taken already by a catch-up
  const frames = pending
  pending = []
  replica!.append(mergeTickFrames(frames))
}

/**
 * A client resumes here from an id this worker has not reached yet (another worker, a frame
 * ahead, served it): the frames up to it are already in this thread's queue, since the main
 * thread posts each frame to every worker at once, so they are taken now, synchronously, in
 * order. Other messages found on the way keep their turn right after this callback. (The one
 * window left: the main thread preempted between posting a frame to two workers, and a client
 * round trip fitting into it; such a resume gets a reset snapshot, as an unknown id does.)
 */
const catchUpTo = (seq: number): void => {
  appendPending()
  while (replica!.headSeq < seq) {
    const received = receiveMessageOnPort(port)
    if (received === undefined) return
    const message = received.message as ToWorker
    if (typeof message === 'string') replica!.append(decodeFrame(message))
    else setImmediate(() => onMessage(message))
  }
}
interface Started {
  readonly app: ServerApp
  readonly source: LogSource
}
let server: Started | undefined
let closing: Promise<void> | undefined
const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
let nextAskId = 1

/** Asks the main thread about the whole cluster; it answers once every worker has. */
const ask = <T>(question: ClusterAsk): Promise<T> => {
  const id = nextAskId++
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: (value) => resolve(value as T), reject })
    post({ type: 'ask', id, ask: question })
  })
}

const answer = async (call: WorkerCall): Promise<Answers[WorkerCall['op']]> => {
  if (call.op === 'close') {
    await close()
    return null
  }
  // Another worker may be asked about the cluster while this one still starts.
  const started = await listening
  switch (call.op) {
    case 'drop':
      return started.app.dropClient(call.clientId)
    case 'dropStreams':
      return started.app.dropStreams(call.count)
    case 'health':
      return started.app.health()
    case 'metrics':
      return started.app.metricsJson()
  }
}

/** Drains like the single server, then lets the thread end: uWS closed, timers and port released. */
const close = (): Promise<void> => {
  closing ??= (async () => {
    clearInterval(statsTimer)
    await listening.then(
      async (started) => {
        await started.app.close()
        await started.source.close()
      },
      () => undefined,
    )
    Atomics.store(setup.closed, setup.worker - 1, 1)
    Atomics.notify(setup.closed, setup.worker - 1)
  })()
  return closing
}

const onMessage = (message: ToWorker): void => {
  if (typeof message === 'string') {
    // Frames that arrive together (this thread was busy) are taken as one, after the batch.
    pending.push(decodeFrame(message))
    if (pending.length === 1) setImmediate(appendPending)
    return
  }
  if (message.type === 'answer') {
    const pending = waiting.get(message.id)
    waiting.delete(message.id)
    if ('error' in message) pending?.reject(new Error(message.error))
    else pending?.resolve(message.value)
    return
  }
  const { id, call } = message
  answer(call).then(
    (value) => {
      post({ type: 'reply', id, value })
      if (call.op === 'close') port.close()
    },
    (error: unknown) => crash(error),
  )
}
port.on('message', onMessage)

// The stats the cluster's synchronous `stats()` reads, once a second like every other counter.
const statsTimer = setInterval(() => {
  if (server !== undefined) post({ type: 'stats', stats: server.app.stats() })
}, setup.statsIntervalMs)

/**
 * An error nothing caught. The thread must close its uWS app before it ends: a worker thread that
 * ends with a listening uWS socket aborts the whole process (libuv: "uv_loop_close() while having
 * open handles"). So: tell the cluster, drain (clients get their jittered retry:), then exit(1).
 */
const crash = (error: unknown): void => {
  post({ type: 'failed', error: serializeError(error), listening: server !== undefined })
  close().then(
    () => process.exit(1),
    () => process.exit(1),
  )
}
process.on('uncaughtException', crash)
process.on('unhandledRejection', crash)

const whole = {
  dropClient: (clientId: string) => ask<number>({ op: 'drop', clientId }),
  health: () => ask<HealthDocument>({ op: 'health' }),
  metrics: () => ask<string>({ op: 'metrics' }),
}
/**
 * This worker's server: an app on the shared port, on a copy of the main thread's log, or (an
 * edge cluster) on its own reader of the Redis Stream. The replica is made before the first await:
 * so before this thread can take any message, and no frame comes before it.
 */
const start = async (): Promise<Started> => {
  const { options } = setup
  // A tape's universe comes with the setup (or, on an edge, from the generator's meta hash).
  let market: Market =
    setup.universe === undefined
      ? createMarket(marketOptionsOf(options))
      : universeMarket(setup.universe)
  let source: LogSource
  if (setup.redis === undefined) {
    replica = createFrameReplica(
      market,
      options,
      setup.join,
      () => ({ kind: 'cluster', worker: setup.worker }),
      catchUpTo,
    )
    source = replica
  } else {
    const { historyEvents, historyBytes } = options
    const edge = await openRedisEdge({ ...setup.redis, historyEvents, historyBytes, log: edgeLog })
    market = edge.universe ?? market
    source = edge
  }
  try {
    const app = await startApp({ options, market, source, whole })
    source.start?.()
    return { app, source }
  } catch (error) {
    await source.close()
    throw error
  }
}
const listening = start()
listening.then(
  (started) => {
    server = started
    post({ type: 'listening', port: started.app.port, stats: started.app.stats() })
  },
  (error: unknown) => {
    // Nothing listens, so no uWS socket holds the thread's loop: exiting now is safe.
    post({ type: 'failed', error: serializeError(error), listening: false })
    process.exit(1)
  },
)
