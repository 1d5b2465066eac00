// The worker-thread side of a thread pool (see pool-handle.ts): one LoadPool, driven by messages.
import { parentPort, workerData } from 'node:worker_threads'
import { createLoadPool, type LoadPoolOptions } from './load-pool.js'
import type { PoolRequest, PoolResponse } from './pool-handle.js'

const port = parentPort
if (port === null) throw new Error('pool-worker.js runs in a worker thread')
const pool = createLoadPool(workerData as LoadPoolOptions)

port.on('message', (request: PoolRequest) => {
  const reply = (id: number, value: unknown) =>
    port.postMessage({ id, value } satisfies PoolResponse)
  switch (request.type) {
    case 'add':
      pool.add(request.lists, request.ratePerSec)
      break
    case 'remove':
      pool.remove(request.count)
      break
    case 'arrive':
      pool.arrive(request.entries)
      break
    case 'leave':
      pool.leave(request.indexes)
      break
    case 'changes':
      pool.planChanges(request.spec)
      break
    case 'drop':
      pool.drop(request.fraction)
      break
    case 'reset':
      pool.reset(request.baseline)
      break
    case 'tail':
      reply(request.id, pool.tail(request.heads, request.record))
      break
    case 'progress':
      reply(request.id, pool.progress())
      break
    case 'report':
      reply(request.id, pool.report())
      break
    case 'live':
      reply(request.id, pool.live())
      break
    case 'close':
      pool.close()
      reply(request.id, null)
      break
  }
})
