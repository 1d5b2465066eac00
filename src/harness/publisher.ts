/**
 * The harness's publisher for `source: harness` runs: it drives the same seeded market as
 * `tickstorm serve`, on the same schedule (frame `n` due at `start + n·frameMs`, a tick's scheduled
 * time `startWall + (simTime − startSim)/speed`), and publishes every tick through the target's
 * publish API, stamped with its scheduled time. It is an open-loop publisher: a frame's requests
 * go out when the frame is due whether or not earlier ones were answered, so a slow publish API
 * shows up as subscriber latency instead of as a publisher that quietly slowed down (coordinated
 * omission), and as the lag and `behind` reported here.
 *
 * The scheduling copies the feed's pacer rather than importing it: the harness sits beside the
 * server, not on top of it.
 */

import { type ClientRequest, Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { Histogram } from 'hdr-histogram-js'
import { nowUs } from '../clock.js'
import { Problems } from '../errors.js'
import { createMarket, type MarketOptions, resolveMarketOptions } from '../market/market.js'
import type { PresetName, Tick } from '../market/types.js'
import { emptyHistogram } from '../report/measurements.js'
import { encodeTickJson } from '../wire/tick-json.js'
import type { PublishedTick, PublishRequest } from './targets/adapter.js'

/** The resolved `server:` block of a scenario: the market and its pacing. */
export interface PublisherMarketOptions {
  readonly preset: PresetName
  readonly seed: number
  readonly symbols?: number | undefined
  readonly ratePerSec?: number | undefined
  readonly frameMs: number
  readonly speed: number
}

export interface PublisherOptions {
  readonly market: PublisherMarketOptions
  /** Base URL the request paths are appended to (`http://h:8080/pub` + `/AAPL`). */
  readonly publishUrl: string
  /** The target adapter's `publish`: the HTTP requests that publish one frame of ticks. */
  readonly requests: (ticks: readonly PublishedTick[]) => PublishRequest[]
  /** Keep-alive connections to the publish API, 1..1024 (default 8). */
  readonly connections?: number
  /** Requests waiting or in flight above which the publisher reports itself behind (10,000). */
  readonly maxPendingRequests?: number
  /** How long `stop()` waits for requests still waiting or in flight before cutting them (5 s). */
  readonly stopWaitMs?: number
  /**
   * Called with each tick as its request is handed out (the heads board: what a subscriber
   * reconnecting now must catch up to). On the frame's path: keep it a store.
   */
  readonly onSent?: (symbol: string, q: number) => void
}

export interface PublisherStats {
  /** Ticks whose request was acknowledged (2xx). */
  published: number
  /** Requests answered or failed. */
  requests: number
  /** Ticks whose request failed (non-2xx, network error, cut by `stop()`). */
  failed: number
  /** Failed requests by kind: `http-500`, `ECONNREFUSED`, `timeout`, `stopped`, … */
  errors: Record<string, number>
  /** Acknowledgement time − scheduled time of the request's earliest tick, per acknowledged request. */
  lagUs: { p50: number; p99: number; max: number }
  /** Requests waiting for a connection or in flight now. */
  pending: number
  /** How late the publisher's frames ran after their deadlines (the harness's own lag). */
  lateUs: { p99: number; max: number }
  /** The publisher could not keep the schedule (see `behindReason`). */
  behind: boolean
  behindReason?: string
}

export interface Publisher {
  /** The universe in `/v1/symbols` order (the market's instrument order, most active first). */
  readonly symbols: readonly string[]
  /** Starts publishing; the frame clock starts now. Once only: a stopped publisher stays stopped. */
  start(): void
  /** Stops scheduling frames and waits (bounded by `stopWaitMs`) for requests still pending. */
  stop(): Promise<void>
  /** The last acknowledged `q` per symbol: what subscribers should have received. */
  heads(): ReadonlyMap<string, number>
  /** The last `q` handed to a request per symbol. */
  sentHeads(): ReadonlyMap<string, number>
  stats(): PublisherStats
  /** Forgets the stats (the end of the warm-up); heads and sequences carry on. */
  reset(): void
}

const DEFAULT_CONNECTIONS = 8
const DEFAULT_MAX_PENDING_REQUESTS = 10_000
const DEFAULT_STOP_WAIT_MS = 5000
/** A request unanswered this long is cut and counted as `timeout`: its connection is freed. */
const REQUEST_TIMEOUT_MS = 30_000
/**
 * `behind` by the publisher's own lateness: the p99 of how late its frames ran (the harness's
 * event loop, not the target) above max(100 ms, 20 frames). Then the ticks went out late because
 * of the harness, and the subscribers' latency measures the harness. How long the target took to
 * acknowledge (`lagUs`) is the target's: a slow publish API is in the subscribers' latency, as it
 * should be, and does not make the run invalid (unless requests pile up past `maxPendingRequests`).
 */
const BEHIND_LAG_FLOOR_US = 100_000
const BEHIND_LAG_FRAMES = 20

/**
 * Ticks that are acknowledged together: one tick (a request per tick), or a whole frame (the
 * adapter batches, or its requests cannot be matched to ticks: then every request of the frame
 * must succeed for its ticks to count as published).
 */
interface Unit {
  readonly ticks: readonly PublishedTick[]
  /** Scheduled time of the unit's earliest tick. */
  readonly scheduledUs: number
  remaining: number
  failed: boolean
}

interface Job {
  readonly request: PublishRequest
  readonly unit: Unit
}

/**
 * One keep-alive connection with its own FIFO: requests on it go one at a time, in order. A
 * symbol always uses the same lane, so its ticks reach the server in `q` order (across parallel
 * connections they would race, and subscribers would see reordering the server never made). The
 * cost: one symbol's ticks never use more than one connection.
 */
interface Lane {
  readonly agent: HttpAgent
  queue: (Job | undefined)[]
  head: number
  active: ClientRequest | undefined
}

/** Two sample ticks of distinct symbols tell a request-per-tick adapter from a batching one. */
function requestPerTick(
  requests: PublisherOptions['requests'],
  symbols: readonly string[],
): boolean {
  const sample = (symbol: string, q: number, id: number): PublishedTick => ({
    symbol,
    q,
    id,
    type: 'quote',
    data: `{"ts":0,"sym":"${symbol}","q":${q}}`,
  })
  const first = symbols[0]!
  const second = symbols[1] ?? first
  try {
    return requests([sample(first, 1, 1), sample(second, second === first ? 2 : 1, 2)]).length === 2
  } catch {
    return false
  }
}

function errorKind(error: unknown): string {
  const e = error as Partial<NodeJS.ErrnoException> | null
  if (typeof e?.code === 'string') return e.code
  return error instanceof Error ? error.name : 'error'
}

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

export function createPublisher(options: PublisherOptions): Publisher {
  const problems = new Problems()
  const { frameMs, speed, ...marketPart } = options.market
  problems.number('market.frameMs', frameMs, 1, 1000)
  problems.number('market.speed', speed, 0.001, 10_000)
  const marketOptions: Partial<MarketOptions> = {
    preset: marketPart.preset,
    seed: marketPart.seed,
    ...(marketPart.symbols === undefined ? {} : { symbols: marketPart.symbols }),
    ...(marketPart.ratePerSec === undefined ? {} : { ratePerSec: marketPart.ratePerSec }),
  }
  problems.absorb(() => resolveMarketOptions(marketOptions))
  const connections = options.connections ?? DEFAULT_CONNECTIONS
  problems.int('connections', connections, 1, 1024)
  const maxPending = options.maxPendingRequests ?? DEFAULT_MAX_PENDING_REQUESTS
  problems.int('maxPendingRequests', maxPending, 1, 100_000_000)
  const stopWaitMs = options.stopWaitMs ?? DEFAULT_STOP_WAIT_MS
  problems.number('stopWaitMs', stopWaitMs, 0, 600_000)
  let base: URL | undefined
  try {
    base = new URL(options.publishUrl)
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      problems.add('publishUrl', 'must be an http or https URL', options.publishUrl)
    }
  } catch {
    problems.add('publishUrl', 'must be a URL', options.publishUrl)
  }
  problems.throwIfAny('publisher options')

  const market = createMarket(marketOptions)
  const symbols = Object.freeze(market.instruments.map((instrument) => instrument.symbol))
  const url = base!
  const secure = url.protocol === 'https:'
  const send = secure ? httpsRequest : httpRequest
  const basePath = url.pathname.replace(/\/+$/, '')
  const perTick = requestPerTick(options.requests, symbols)
  const frameUs = Math.round(frameMs * 1000)
  const behindLagUs = Math.max(BEHIND_LAG_FLOOR_US, BEHIND_LAG_FRAMES * frameUs)

  const lanes: Lane[] = Array.from({ length: connections }, () => ({
    agent: secure
      ? new HttpsAgent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 })
      : new HttpAgent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }),
    queue: [],
    head: 0,
    active: undefined,
  }))

  const heads = new Map<string, number>()
  const sentHeads = new Map<string, number>()
  const onSent = options.onSent
  const lag: Histogram = emptyHistogram()
  /** How late each frame ran after its deadline: the harness's own lag. */
  const late: Histogram = emptyHistogram()
  let published = 0
  let requestCount = 0
  let failed = 0
  let errors: Record<string, number> = {}
  let queueBehind: string | undefined
  let pending = 0
  let lastId = 0
  const drained: (() => void)[] = []

  const countError = (kind: string): void => {
    errors[kind] = (errors[kind] ?? 0) + 1
  }

  const settle = (job: Job, kind: string | null): void => {
    pending--
    requestCount++
    const { unit } = job
    if (kind === null) lag.recordValue(Math.max(0, nowUs() - unit.scheduledUs))
    else {
      countError(kind)
      unit.failed = true
    }
    if (--unit.remaining === 0) {
      if (unit.failed) failed += unit.ticks.length
      else {
        published += unit.ticks.length
        for (const tick of unit.ticks) {
          if ((heads.get(tick.symbol) ?? 0) < tick.q) heads.set(tick.symbol, tick.q)
        }
      }
    }
    if (pending === 0) for (const resolve of drained.splice(0)) resolve()
  }

  const dispatch = (lane: Lane): void => {
    if (lane.active !== undefined || lane.head >= lane.queue.length) return
    const job = lane.queue[lane.head]!
    lane.queue[lane.head++] = undefined
    // Compacts the FIFO once its consumed front is large, so it never grows with the run.
    if (lane.head >= 1024 && lane.head * 2 >= lane.queue.length) {
      lane.queue = lane.queue.slice(lane.head)
      lane.head = 0
    }
    const { method, path, headers, body } = job.request
    let done = false
    let req: ClientRequest | undefined
    const finish = (kind: string | null): void => {
      if (done) return
      done = true
      if (lane.active === req) lane.active = undefined
      settle(job, kind)
      dispatch(lane)
    }
    try {
      const sent = send({
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        path: `${basePath}${path.startsWith('/') ? '' : '/'}${path}`,
        method,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        agent: lane.agent,
      })
      req = sent
      lane.active = sent
      sent.on('response', (res) => {
        const status = res.statusCode ?? 0
        const ok = status >= 200 && status < 300
        res.on('error', (error) => finish(errorKind(error)))
        const answered = ok ? null : `http-${status}`
        res.on('end', () => finish(answered))
        // A connection lost mid-answer may end the response without 'end' or 'error'.
        res.on('close', () => finish(res.complete ? answered : 'ECONNRESET'))
        res.resume()
      })
      sent.on('error', (error) => finish(errorKind(error)))
      sent.setTimeout(REQUEST_TIMEOUT_MS, () =>
        sent.destroy(codedError('timeout', `no answer in ${REQUEST_TIMEOUT_MS} ms`)),
      )
      sent.end(body)
    } catch (error) {
      // A request node refuses to build (an invalid header from the adapter) fails alone; on the
      // next turn, so a queue of such requests does not recurse through the stack.
      const kind = errorKind(error)
      setImmediate(() => finish(kind))
    }
  }

  const enqueue = (lane: Lane, request: PublishRequest, unit: Unit): void => {
    pending++
    lane.queue.push({ request, unit })
    dispatch(lane)
  }

  const laneOf = (symbol: number): Lane => lanes[symbol % connections]!
  const marketTicks: Tick[] = []
  let startWallUs = 0
  let startSimUs = market.simTimeUs

  const runFrame = (deadlineUs: number): void => {
    const untilSimUs = startSimUs + Math.floor((deadlineUs - startWallUs) * speed)
    marketTicks.length = 0
    market.advanceTo(untilSimUs, marketTicks)
    const count = marketTicks.length
    if (count === 0) return
    const ticks: PublishedTick[] = new Array(count)
    const scheduled: number[] = new Array(count)
    for (let i = 0; i < count; i++) {
      const tick = marketTicks[i]!
      const symbol = symbols[tick.symbol]!
      // Exactly as the feed computes it, so a payload matches what `tickstorm serve` would send.
      const scheduledUs = startWallUs + Math.round((tick.simTimeUs - startSimUs) / speed)
      scheduled[i] = scheduledUs
      ticks[i] = {
        symbol,
        q: tick.seq,
        id: ++lastId,
        type: tick.kind,
        data: encodeTickJson(tick, symbol, scheduledUs),
      }
    }
    let requests: PublishRequest[]
    try {
      requests = options.requests(ticks)
    } catch {
      countError('adapter')
      failed += count
      return
    }
    if (requests.length === 0) {
      countError('no-request')
      failed += count
      return
    }
    for (const tick of ticks) sentHeads.set(tick.symbol, tick.q)
    if (onSent !== undefined) for (const tick of ticks) onSent(tick.symbol, tick.q)
    if (perTick && requests.length === count) {
      for (let i = 0; i < count; i++) {
        const unit: Unit = {
          ticks: [ticks[i]!],
          scheduledUs: scheduled[i]!,
          remaining: 1,
          failed: false,
        }
        enqueue(laneOf(marketTicks[i]!.symbol), requests[i]!, unit)
      }
    } else {
      // A batch (or requests not matched to ticks) spans symbols: lane 0 keeps the frames in order.
      const unit: Unit = {
        ticks,
        // Market ticks come in time order: the first is the earliest.
        scheduledUs: scheduled[0]!,
        remaining: requests.length,
        failed: false,
      }
      for (const request of requests) enqueue(lanes[0]!, request, unit)
    }
    if (pending > maxPending && queueBehind === undefined) {
      queueBehind = `${pending} publish requests waiting or in flight (more than ${maxPending}): the publish API is slower than the market`
    }
  }

  // The pacer's self-correcting timer: frame n is due at start + n·frameUs, and a stalled event
  // loop gets one catch-up frame covering every frame that fell due, never a burst of them.
  let timer: NodeJS.Timeout | undefined
  let started = false
  let stopped = false
  let frameIndex = 0

  const tick = (): void => {
    timer = undefined
    if (stopped) return
    const now = nowUs()
    const due = Math.floor((now - startWallUs) / frameUs)
    if (due > frameIndex) {
      // Late by the oldest deadline this run covers: a stall of the harness's event loop shows
      // whole, though the frames it held up go out as one catch-up frame.
      late.recordValue(Math.max(0, now - (startWallUs + (frameIndex + 1) * frameUs)))
      frameIndex = due
      try {
        runFrame(startWallUs + frameIndex * frameUs)
      } catch (error) {
        countError(`frame-${errorKind(error)}`)
      }
    }
    schedule()
  }

  const schedule = (): void => {
    const nextDeadlineUs = startWallUs + (frameIndex + 1) * frameUs
    timer = setTimeout(tick, Math.max(0, (nextDeadlineUs - nowUs()) / 1000))
  }

  /** Resolves when nothing is pending, or after `ms`. */
  const drain = async (ms: number): Promise<void> => {
    if (pending === 0) return
    let waitTimer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      drained.push(resolve)
      waitTimer = setTimeout(resolve, ms)
    })
    clearTimeout(waitTimer)
  }

  /** Fails what still waits and cuts what is in flight (each counted as `stopped`). */
  const cutEverything = (): void => {
    const stoppedError = codedError('stopped', 'the publisher stopped')
    for (const lane of lanes) {
      const waiting = lane.queue.slice(lane.head)
      lane.queue = []
      lane.head = 0
      for (const job of waiting) if (job !== undefined) settle(job, 'stopped')
      lane.active?.destroy(stoppedError)
    }
  }

  return {
    symbols,
    start() {
      if (started) return
      started = true
      startWallUs = nowUs()
      startSimUs = market.simTimeUs
      frameIndex = 0
      schedule()
    },
    async stop() {
      if (stopped) return
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await drain(stopWaitMs)
      if (pending > 0) {
        cutEverything()
        // The cut requests report their errors on the next turns of the event loop.
        await drain(1000)
      }
      for (const lane of lanes) lane.agent.destroy()
    },
    heads: () => new Map(heads),
    sentHeads: () => new Map(sentHeads),
    stats() {
      const lagUs =
        lag.totalCount === 0
          ? { p50: 0, p99: 0, max: 0 }
          : {
              p50: lag.getValueAtPercentile(50),
              p99: lag.getValueAtPercentile(99),
              max: lag.maxValue,
            }
      const lateUs =
        late.totalCount === 0
          ? { p99: 0, max: 0 }
          : { p99: late.getValueAtPercentile(99), max: late.maxValue }
      const lagBehind =
        lateUs.p99 > behindLagUs
          ? `its frames ran late: p99 ${(lateUs.p99 / 1000).toFixed(1)} ms behind the market's schedule, above ${behindLagUs / 1000} ms (max of 100 ms and 20 frames)`
          : undefined
      const behindReason = queueBehind ?? lagBehind
      return {
        published,
        requests: requestCount,
        failed,
        errors: { ...errors },
        lagUs,
        lateUs,
        pending,
        behind: behindReason !== undefined,
        ...(behindReason === undefined ? {} : { behindReason }),
      }
    },
    reset() {
      published = 0
      requestCount = 0
      failed = 0
      errors = {}
      queueBehind = undefined
      lag.reset()
      late.reset()
    },
  }
}
