import { Worker } from 'node:worker_threads'
import type { WatchListChangeSpec } from './executors/arrival-schedule.js'
import {
  createLoadPool,
  type LoadPoolOptions,
  type PoolLive,
  type PoolProgress,
  type SubscriberEntries,
} from './load-pool.js'
import type { WorkerReport } from './transport-metrics.js'

type Lists = SubscriberEntries

/** The runner's view of one worker's pool, the same whether it runs in a thread or inline. */
export interface PoolHandle {
  add(lists: Lists, ratePerSec: number): void
  remove(count: number): void
  arrive(entries: Lists): void
  leave(indexes: readonly number[]): void
  planChanges(spec: WatchListChangeSpec | null): void
  drop(fraction: number): void
  reset(baseline?: ReadonlyMap<string, number>): void
  tail(heads: ReadonlyMap<string, number>, record: boolean): Promise<number>
  progress(): Promise<PoolProgress>
  report(): Promise<WorkerReport>
  /** What was measured since the previous call: once a second, for the live window. */
  live(): Promise<PoolLive>
  close(): Promise<void>
}

/** Messages to a pool worker; every request with an `id` is answered with the same `id`. */
export type PoolRequest =
  | { readonly type: 'add'; readonly lists: Lists; readonly ratePerSec: number }
  | { readonly type: 'remove'; readonly count: number }
  | { readonly type: 'arrive'; readonly entries: Lists }
  | { readonly type: 'leave'; readonly indexes: readonly number[] }
  | { readonly type: 'changes'; readonly spec: WatchListChangeSpec | null }
  | { readonly type: 'drop'; readonly fraction: number }
  | { readonly type: 'reset'; readonly baseline?: ReadonlyMap<string, number> }
  | {
      readonly type: 'tail'
      readonly id: number
      readonly heads: ReadonlyMap<string, number>
      readonly record: boolean
    }
  | { readonly type: 'progress'; readonly id: number }
  | { readonly type: 'report'; readonly id: number }
  | { readonly type: 'live'; readonly id: number }
  | { readonly type: 'close'; readonly id: number }

type TailRequest = Extract<PoolRequest, { type: 'tail' }>

export interface PoolResponse {
  readonly id: number
  readonly value: unknown
}

/** A pool on this thread: for tests and for `workers: 1` runs that want no thread hop. */
export function createInlinePool(options: LoadPoolOptions): PoolHandle {
  const pool = createLoadPool(options)
  return {
    add: (lists, rate) => pool.add(lists, rate),
    remove: (count) => pool.remove(count),
    arrive: (entries) => pool.arrive(entries),
    leave: (indexes) => pool.leave(indexes),
    planChanges: (spec) => pool.planChanges(spec),
    drop: (fraction) => {
      pool.drop(fraction)
    },
    reset: (baseline) => pool.reset(baseline),
    tail: async (heads, record) => pool.tail(heads, record),
    progress: async () => pool.progress(),
    report: async () => pool.report(),
    live: async () => pool.live(),
    close: async () => pool.close(),
  }
}

/**
 * A pool in a worker thread (its own event loop, so subscribers of different workers never wait
 * on each other). Runs from compiled output: the thread loads `pool-worker.js` beside this file.
 */
export function createThreadPool(options: LoadPoolOptions): PoolHandle {
  const worker = new Worker(new URL('./pool-worker.js', import.meta.url), { workerData: options })
  const waiting = new Map<number, (value: unknown) => void>()
  let nextId = 1
  let failure: Error | undefined
  worker.on('message', (message: PoolResponse) => {
    waiting.get(message.id)?.(message.value)
    waiting.delete(message.id)
  })
  worker.on('error', (error) => {
    failure = error
    for (const resolve of waiting.values()) resolve(undefined)
    waiting.clear()
  })
  const ask = <T>(
    request: { readonly type: 'progress' | 'report' | 'live' | 'close' } | Omit<TailRequest, 'id'>,
  ): Promise<T> => {
    if (failure) return Promise.reject(failure)
    const id = nextId++
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, (value) => (failure ? reject(failure) : resolve(value as T)))
      worker.postMessage({ ...request, id } satisfies PoolRequest)
    })
  }
  return {
    add: (lists, ratePerSec) =>
      worker.postMessage({ type: 'add', lists, ratePerSec } satisfies PoolRequest),
    remove: (count) => worker.postMessage({ type: 'remove', count } satisfies PoolRequest),
    arrive: (entries) => worker.postMessage({ type: 'arrive', entries } satisfies PoolRequest),
    leave: (indexes) => worker.postMessage({ type: 'leave', indexes } satisfies PoolRequest),
    planChanges: (spec) => worker.postMessage({ type: 'changes', spec } satisfies PoolRequest),
    drop: (fraction) => worker.postMessage({ type: 'drop', fraction } satisfies PoolRequest),
    reset: (baseline) =>
      worker.postMessage({
        type: 'reset',
        ...(baseline ? { baseline } : {}),
      } satisfies PoolRequest),
    tail: (heads, record) => ask<number>({ type: 'tail', heads, record }),
    progress: () => ask<PoolProgress>({ type: 'progress' }),
    report: () => ask<WorkerReport>({ type: 'report' }),
    live: () => ask<PoolLive>({ type: 'live' }),
    close: async () => {
      await ask({ type: 'close' })
      await worker.terminate()
    },
  }
}
