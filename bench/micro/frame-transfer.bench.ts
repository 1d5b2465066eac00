/**
 * How to hand one pacing frame (a `TickFrame`) to N worker threads: the cost the cluster pays per
 * frame, on the sending (main) thread and on each receiving worker.
 *
 * - clone: `postMessage(frame)` once per worker; the structured clone walks the objects N times.
 * - json: `JSON.stringify(frame)` once, the string posted to every worker, `JSON.parse` there.
 * - v8: `v8.serialize(frame)` once, the bytes posted (copied) to every worker, `v8.deserialize`.
 *
 * Method: real frames from the `stress` market, grouped into frames of 1, 8 and 64 ticks; each
 * variant posts 20,000 frames to 2 workers, which count and acknowledge the last one; the main
 * thread's CPU per frame (send side) and each worker's (receive side, `process.cpuUsage` of the
 * thread) are reported, the median of 3 rounds after a warm-up round. Thread CPU comes from
 * `/proc/thread-self/stat` (`process.cpuUsage()` is the whole process's, workers included).
 *
 *   npm run build && node dist/bench/micro/frame-transfer.bench.js
 */

import { readFileSync } from 'node:fs'
import { deserialize, serialize } from 'node:v8'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import type { TickFrame } from '../../src/feed/event-log.js'
import { createMarket } from '../../src/market/market.js'
import type { Tick } from '../../src/market/types.js'

type Variant = 'clone' | 'json' | 'v8'
const VARIANTS: readonly Variant[] = ['clone', 'json', 'v8']
const FRAMES = 50_000
const WORKERS = 2
const ROUNDS = 3

/** This thread's CPU time in µs (utime + stime, in clock ticks of 10 ms: rounds are ≈ 1 s). */
function threadCpuUs(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

if (!isMainThread) {
  const variant = workerData as Variant
  const port = parentPort!
  let count = 0
  let sink = 0
  let started = threadCpuUs()
  port.on('message', (message: unknown) => {
    if (message === 'reset') {
      count = 0
      started = threadCpuUs()
      return
    }
    const frame =
      variant === 'clone'
        ? (message as TickFrame)
        : variant === 'json'
          ? (JSON.parse(message as string) as TickFrame)
          : (deserialize(message as Uint8Array) as TickFrame)
    sink += frame.ticks.length + frame.firstSeq
    if (++count === FRAMES) {
      port.postMessage({ cpuUs: threadCpuUs() - started, sink })
    }
  })
} else {
  const framesOf = (size: number): TickFrame[] => {
    const market = createMarket({ preset: 'stress', seed: 1 })
    const ticks: Tick[] = []
    let untilUs = market.simTimeUs
    while (ticks.length < FRAMES * size) {
      untilUs += 100_000
      market.advanceTo(untilUs, ticks)
    }
    const frames: TickFrame[] = []
    for (let i = 0; i < FRAMES; i++) {
      const slice = ticks.slice(i * size, (i + 1) * size)
      frames.push({
        firstSeq: i * size + 1,
        ticks: slice,
        scheduledUs: slice.map((tick) => 1_764_000_000_000_000 + tick.simTimeUs),
        deadlineUs: 1_764_000_000_000_000 + slice[slice.length - 1]!.simTimeUs,
        lagUs: 12,
      })
    }
    return frames
  }

  const round = async (variant: Variant, frames: readonly TickFrame[], workers: Worker[]) => {
    for (const worker of workers) worker.postMessage('reset')
    const done = workers.map(
      (worker) =>
        new Promise<number>((resolve) =>
          worker.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs)),
        ),
    )
    const started = threadCpuUs()
    for (const frame of frames) {
      if (variant === 'clone') {
        for (const worker of workers) worker.postMessage(frame)
      } else {
        const payload = variant === 'json' ? JSON.stringify(frame) : serialize(frame)
        for (const worker of workers) worker.postMessage(payload)
      }
    }
    const sendUs = threadCpuUs() - started
    const receiveUs = await Promise.all(done)
    return {
      sendUs: sendUs / frames.length,
      receiveUs: Math.max(...receiveUs) / frames.length,
    }
  }

  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!
  console.log(
    `frame transfer to ${WORKERS} workers, ${FRAMES} frames per round, median of ${ROUNDS}`,
  )
  console.log('ticks/frame  variant  send µs/frame  receive µs/frame/worker  bytes')
  for (const size of [1, 8, 64]) {
    const frames = framesOf(size)
    for (const variant of VARIANTS) {
      const workers = Array.from(
        { length: WORKERS },
        () => new Worker(new URL(import.meta.url), { workerData: variant }),
      )
      await round(variant, frames, workers)
      const sends: number[] = []
      const receives: number[] = []
      for (let r = 0; r < ROUNDS; r++) {
        const result = await round(variant, frames, workers)
        sends.push(result.sendUs)
        receives.push(result.receiveUs)
      }
      await Promise.all(workers.map((worker) => worker.terminate()))
      const bytes =
        variant === 'v8'
          ? serialize(frames[0]!).length
          : variant === 'json'
            ? Buffer.byteLength(JSON.stringify(frames[0]!))
            : serialize(frames[0]!).length
      console.log(
        `${String(size).padStart(11)}  ${variant.padEnd(7)}  ${median(sends).toFixed(2).padStart(13)}  ${median(receives).toFixed(2).padStart(23)}  ${String(bytes).padStart(5)}`,
      )
    }
  }
}
