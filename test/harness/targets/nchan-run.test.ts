import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { ERROR_CODES, TickstormError } from '../../../src/errors.js'
import type { StreamTransport } from '../../../src/harness/load-pool.js'
import { runScenario } from '../../../src/harness/runner.js'
import { parseScenario } from '../../../src/harness/scenario.js'
import { type Peer, startNchan } from '../../helpers/peers.js'

/**
 * Whole runs against Debian's nchan: the harness publishes its seeded market through nchan's
 * publish API (source harness), subscribers read it on each transport nchan offers, and loss is
 * counted against what the publisher sent. A `drop` of half the subscribers must be recovered
 * without a gap where nchan gives the client an id to resume from (SSE, EventSource, long-poll),
 * and counted as loss where it does not (a plain WebSocket).
 */

let nchan: Peer
beforeEach(async () => {
  nchan = await startNchan()
})
afterEach(async () => {
  await nchan?.stop()
})

interface RunShape {
  readonly transport: StreamTransport
  /** Close this share of the subscribers 1 s into the measurement; none without it. */
  readonly dropFraction?: number
  readonly symbols?: number
  readonly watchListSize?: number
  /** The subscribers' reconnect delay (default 100 ms). */
  readonly retryMs?: number
}

function scenarioFor(url: string, shape: RunShape) {
  return parseScenario(
    [
      'name: nchan-run',
      'description: the harness publishing into nchan and reading it back',
      `target: { kind: nchan, url: ${url} }`,
      'source: harness',
      `server: { preset: normal, symbols: ${shape.symbols ?? 20}, ratePerSec: 200, seed: 1 }`,
      `transports: [${shape.transport}]`,
      `subscribers: { count: 10, watchList: { size: ${shape.watchListSize ?? 5} } }`,
      'warmupSec: 1',
      'durationSec: 3',
      ...(shape.dropFraction === undefined
        ? []
        : [`faults: [ { atSec: 1, kind: drop, fraction: ${shape.dropFraction} } ]`]),
      'thresholds: { maxLossRatio: 0 }',
    ].join('\n'),
    'nchan-run.yaml',
  )
}

async function run(shape: RunShape) {
  const { result } = await runScenario(scenarioFor(nchan.url, shape), {
    serverBin: 'unused',
    scenarioFile: 'nchan-run.yaml',
    commit: 'test',
    workers: 0,
    retryMs: shape.retryMs ?? 100,
  })
  expect(result.transports).toHaveLength(1)
  return { result, measured: result.transports[0]! }
}

/** What every nchan run says of itself, whatever the transport. */
function expectHarnessFedNchan(
  result: Awaited<ReturnType<typeof run>>['result'],
  measured: Awaited<ReturnType<typeof run>>['measured'],
): void {
  expect(result.targetKind).toBe('nchan')
  expect(result.source).toBe('harness')
  expect(result.channelsPerConnection).toBe(255)
  expect(measured.failure).toBeUndefined()
  expect(measured.deliveries).toBeGreaterThan(0)
  expect(measured.lossCountedAgainst).toBe('sent')
  expect(measured.publisher?.published).toBeGreaterThan(0)
  expect(measured.publisher?.failed).toBe(0)
}

describe('the harness against nchan, fed by its publisher', () => {
  for (const transport of ['sse', 'eventsource', 'longpoll', 'ws'] as const) {
    test(`${transport}: half the subscribers dropped resume from nchan's id without a gap`, async () => {
      const { result, measured } = await run({ transport, dropFraction: 0.5 })
      expectHarnessFedNchan(result, measured)
      expect(measured.faults).toEqual([{ atSec: 1, kind: 'drop', fraction: 0.5 }])
      expect(measured.reconnects).toBeGreaterThan(0)
      // The sequence check saw every q of every symbol once, in order, across the reconnect …
      expect(measured.lost).toBe(0)
      expect(measured.tailLost).toBe(0)
      expect(measured.duplicates).toBe(0)
      expect(measured.outOfOrder).toBe(0)
      // … and what came while a subscriber was away arrived as nchan's replay.
      expect(measured.eventsRecoveredByReplay).toBeGreaterThan(0)
      // Judged on the thresholds: a machine busy with other test files may mark a run invalid
      // (harness saturation, publisher lag), which is the harness's verdict on itself, not nchan's.
      expect(measured.thresholds.every((outcome) => outcome.passed)).toBe(true)
    })
  }

  test('ws without a fault is gap-free against what was sent', async () => {
    const { result, measured } = await run({ transport: 'ws' })
    expectHarnessFedNchan(result, measured)
    expect(measured.reconnects).toBe(0)
    expect(measured.lost).toBe(0)
    expect(measured.tailLost).toBe(0)
    expect(measured.duplicates).toBe(0)
  })

  test('ws: a dropped socket away 500 ms comes back through ws+meta.nchan ids without a gap', async () => {
    // Away 500 ms: at 200 ticks/s over 20 symbols, each watched symbol misses ~5 ticks, which the
    // reconnect's Last-Event-ID (the id nchan's meta subprotocol put on each message) brings back.
    const { result, measured } = await run({ transport: 'ws', dropFraction: 0.5, retryMs: 500 })
    expectHarnessFedNchan(result, measured)
    expect(measured.reconnects).toBeGreaterThan(0)
    expect(measured.lost).toBe(0)
    expect(measured.duplicates).toBe(0)
    expect(measured.eventsRecoveredByReplay).toBeGreaterThan(0)
  })

  test('a watch-list wider than 255 symbols is refused before any subscriber connects', async () => {
    const started: string[] = []
    const connects: number[] = []
    const scenario = scenarioFor(nchan.url, {
      transport: 'sse',
      symbols: 300,
      watchListSize: 256,
    })
    const running = runScenario(scenario, {
      serverBin: 'unused',
      scenarioFile: 'nchan-run.yaml',
      commit: 'test',
      workers: 0,
      // Called once a target is up, before any subscriber: it must never be reached.
      onTarget: (url) => started.push(url),
      onProgress: (progress) => connects.push(progress.connected),
    })
    await expect(running).rejects.toThrow(TickstormError)
    await expect(running).rejects.toMatchObject({
      code: ERROR_CODES.INVALID_SCENARIO,
      message: expect.stringContaining('`subscribers.watchList.size` must be ≤ 255'),
      details: { problems: [expect.stringContaining('nchan')] },
    })
    expect(started).toEqual([])
    expect(connects).toEqual([])
  })
})
