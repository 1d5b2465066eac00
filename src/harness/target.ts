/**
 * The target of one transport's run, whatever its kind: its adapter, the server process the
 * harness may sample and fault (a fresh embedded tickstorm, a `target.command` it starts, a
 * `target.pid` it watches, or none), what the harness brings (Pushpin's GRIP origin), the
 * publisher of a `source: harness` run, and the symbols subscribers pick their watch-lists from.
 */

import { ERROR_CODES, TickstormError } from '../errors.js'
import type { TransportName } from '../report/measurements.js'
import { embeddedTapeOf, startEmbeddedServer } from './embedded-target.js'
import { createHeadsBoardWriter, HEADS_POLL_MS, type HeadsBoardWriter } from './heads-board.js'
import { createProcessSampler, type ProcessSampler } from './process-sampler.js'
import { createPublisher, type Publisher } from './publisher.js'
import type { RunContext } from './run-context.js'
import type { Scenario } from './scenario.js'
import type { ServerProcess } from './server-process.js'
import { adapterFor, sourceOf } from './target-adapter.js'
import { attachTargetPid, createProcessTreeSampler, startTargetCommand } from './target-process.js'
import type { EventSource, TargetAdapter } from './targets/adapter.js'

export interface Target {
  readonly adapter: TargetAdapter
  readonly source: EventSource
  /** The server process, or null when the harness has none (a bare URL). */
  readonly server: ServerProcess | null
  readonly baseUrl: string
  /** The server's CPU and RSS, sampled once a second; null without a process. */
  readonly sampler: ProcessSampler | null
  /** Publishes the harness's market into the target (source harness), or null. */
  readonly publisher: Publisher | null
  /** The symbols subscribers pick their watch-lists from, busiest first. */
  readonly universe: readonly string[]
  /** Each symbol's last sequence sent now: what every subscriber of it should get. Null: unknown. */
  heads(): Promise<ReadonlyMap<string, number> | null>
  /** Stops the publisher, what the harness brought, the sampler and the server it started. */
  stop(): Promise<void>
}

/** Starts the scenario's target for one transport: server, what the harness brings, publisher. */
export async function startTarget(
  scenario: Scenario,
  context: RunContext,
  transport: TransportName,
  retryMs: number,
): Promise<Target> {
  const { options } = context
  const adapter = adapterFor(scenario)
  const source = sourceOf(scenario, adapter)
  const target = scenario.target
  const stops: (() => Promise<void>)[] = []
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    stops.length = 0
  }
  try {
    let server: ServerProcess | null = null
    let baseUrl: string
    let sampler: ProcessSampler | null = null
    if (target === 'embedded') {
      const embedded = await startEmbeddedServer({
        bin: options.serverBin,
        preset: scenario.server?.preset ?? 'normal',
        seed: scenario.server?.seed ?? 1,
        frameMs: scenario.server?.frameMs ?? 5,
        speed: scenario.server?.speed ?? 1,
        symbols: scenario.server?.symbols,
        ratePerSec: scenario.server?.ratePerSec,
        tape: embeddedTapeOf(scenario.server),
        retryMs,
        signal: options.signal,
      })
      stops.push(() => embedded.stop())
      server = embedded
      baseUrl = embedded.url
      sampler = createProcessSampler(embedded.pid)
    } else {
      baseUrl = target.url.replace(/\/$/, '')
      if (target.command !== undefined) {
        const started = await startTargetCommand({
          command: target.command,
          url: baseUrl,
          signal: options.signal,
        })
        stops.push(() => started.stop())
        server = started
      } else if (target.pid !== undefined) {
        server = attachTargetPid(target.pid, baseUrl)
      }
      if (server !== null) {
        const watched = server
        sampler = createProcessTreeSampler(() => watched.pid)
      }
    }
    if (sampler !== null) {
      const started = sampler
      started.start(1000)
      stops.push(async () => started.stop())
    }
    const brought = await adapter.attach()
    if (brought !== null) stops.push(() => brought.close())

    let publisher: Publisher | null = null
    // Written as the publisher sends (created below, once the universe is known).
    let board: HeadsBoardWriter | undefined
    if (source === 'harness') {
      if (adapter.publish === null || adapter.publishUrl === null || scenario.server === null) {
        throw new TickstormError(
          ERROR_CODES.INVALID_SCENARIO,
          `a ${adapter.kind} target takes no published events (source: harness)`,
        )
      }
      const running = createPublisher({
        market: scenario.server,
        publishUrl: adapter.publishUrl,
        requests: adapter.publish,
        onSent: (symbol, q) => board?.set(symbol, q),
      })
      stops.push(() => running.stop())
      publisher = running
    }
    const universe =
      (await adapter.universe(baseUrl, options.signal)) ??
      publisher?.symbols ??
      fixedSymbols(scenario, adapter)
    checkChannels(scenario, adapter, universe)
    const writer = createHeadsBoardWriter(baseUrl, universe, publisher !== null)
    board = writer
    stops.push(async () => writer.close())
    if (publisher !== null) writer.open()
    else stops.push(pollHeads(writer, () => adapter.heads(baseUrl, universe, options.signal)))
    // Events flow before the first subscriber: the warm-up sees the same stream the window does.
    publisher?.start()
    options.onTarget?.(baseUrl, { transport, pid: server?.pid ?? null })
    const heads = async () => {
      if (publisher !== null) return publisher.heads()
      return adapter.heads(baseUrl, universe, options.signal).catch(() => null)
    }
    return { adapter, source, server, baseUrl, sampler, publisher, universe, heads, stop: stopAll }
  } catch (error) {
    await stopAll()
    throw error
  }
}

/**
 * Keeps the heads board of a target that makes its own events current from the server's heads
 * (tickstorm's `/v1/snapshot`), every HEADS_POLL_MS; the pools are answered once a first read
 * succeeded. A target that cannot say (null) is asked no more: its subscribers' "caught up" stays
 * unmeasured. Returns the stop.
 */
function pollHeads(
  writer: HeadsBoardWriter,
  read: () => Promise<ReadonlyMap<string, number> | null>,
): () => Promise<void> {
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let reading: Promise<void> = Promise.resolve()
  let known = false
  const poll = (): void => {
    timer = undefined
    reading = read()
      .catch(() => null)
      .then((heads) => {
        if (stopped) return
        if (heads === null) {
          if (!known) return // never known: stop asking
        } else {
          for (const [symbol, q] of heads) writer.store(symbol, q)
          if (!known) writer.open()
          known = true
        }
        timer = setTimeout(poll, HEADS_POLL_MS)
        timer.unref()
      })
  }
  poll()
  return async () => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
    await reading
  }
}

/** A target that makes its own events and lists no symbols: the watch-list the scenario names. */
function fixedSymbols(scenario: Scenario, adapter: TargetAdapter): readonly string[] {
  const symbols = scenario.subscribers.watchList.symbols
  if (symbols === undefined) {
    throw new TickstormError(
      ERROR_CODES.INVALID_SCENARIO,
      `a ${adapter.kind} target with source: server lists no symbols: give subscribers.watchList.pick: fixed with its symbols`,
    )
  }
  return symbols
}

/** A watch-list longer than the server takes on one connection is refused before any connect. */
function checkChannels(
  scenario: Scenario,
  adapter: TargetAdapter,
  universe: readonly string[],
): void {
  const cap = adapter.channelsPerConnection
  if (cap === null) return
  const size = Math.min(scenario.subscribers.watchList.size, universe.length)
  if (size > cap) {
    const problem = `\`subscribers.watchList.size\` must be ≤ ${cap}: ${adapter.kind} subscribes one connection to at most ${cap} channels (one per symbol), got ${size}`
    throw new TickstormError(ERROR_CODES.INVALID_SCENARIO, `invalid scenario: ${problem}`, {
      details: { problems: [problem] },
    })
  }
}

export function sourceAddresses(baseUrl: string, connections: number): string[] {
  const host = new URL(baseUrl).hostname
  if (connections <= 10_000 || !(host === '127.0.0.1' || host === 'localhost')) return []
  const count = Math.ceil(connections / 10_000) + 1
  return Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`)
}
