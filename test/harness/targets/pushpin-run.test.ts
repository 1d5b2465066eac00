import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ERROR_CODES, TickstormError } from '../../../src/errors.js'
import type { StreamTransport } from '../../../src/harness/load-pool.js'
import { runScenario } from '../../../src/harness/runner.js'
import { parseScenario } from '../../../src/harness/scenario.js'
import { createPushpinAdapter } from '../../../src/harness/targets/pushpin.js'
import { freePort } from '../../helpers/free-port.js'
import { type PushpinPeer, startPushpin } from '../../helpers/peers.js'

/**
 * Whole runs against Debian's Pushpin: the harness brings the GRIP origin Pushpin routes to
 * (`target.origin`), publishes its seeded market into Pushpin's control API (source harness), and
 * counts loss against what it published. Without faults nothing may be lost on SSE or WebSocket.
 */

let pushpin: PushpinPeer
let originPort: number

beforeAll(async () => {
  originPort = await freePort()
  pushpin = await startPushpin({ originPort })
  // A freshly started Pushpin answers its first held streams 500 for a moment: wait, with an
  // origin of the adapter's own on that port, until it holds one, as a run's origin will find it.
  const adapter = createPushpinAdapter({
    url: pushpin.url,
    publishUrl: pushpin.controlUrl,
    origin: `127.0.0.1:${originPort}`,
  })
  const origin = await adapter.attach()
  try {
    await pushpin.ready()
  } finally {
    await origin?.close()
  }
}, 30_000)

afterAll(async () => {
  await pushpin?.stop()
})

function scenarioFor(transport: StreamTransport, symbols: number, watchListSize: number) {
  return parseScenario(
    [
      'name: pushpin-run',
      'description: the harness publishing into Pushpin and reading it back',
      'target:',
      '  kind: pushpin',
      `  url: ${pushpin.url}`,
      `  publishUrl: ${pushpin.controlUrl}`,
      `  origin: 127.0.0.1:${originPort}`,
      'source: harness',
      `server: { preset: normal, symbols: ${symbols}, ratePerSec: 100, seed: 1 }`,
      `transports: [${transport}]`,
      `subscribers: { count: 10, watchList: { size: ${watchListSize} } }`,
      'warmupSec: 1',
      'durationSec: 3',
      'thresholds: { maxLossRatio: 0 }',
    ].join('\n'),
    'pushpin-run.yaml',
  )
}

const runOptions = {
  serverBin: 'unused',
  scenarioFile: 'pushpin-run.yaml',
  commit: 'test',
  workers: 0,
  retryMs: 100,
}

describe('the harness against Pushpin, fed by its publisher', () => {
  for (const transport of ['sse', 'ws'] as const) {
    test(`${transport}: every published tick arrives, counted against what was sent`, async () => {
      const { result } = await runScenario(scenarioFor(transport, 20, 5), runOptions)
      expect(result.targetKind).toBe('pushpin')
      expect(result.source).toBe('harness')
      expect(result.channelsPerConnection).toBe(20)
      expect(result.transports).toHaveLength(1)
      const measured = result.transports[0]!
      expect(measured.failure).toBeUndefined()
      expect(measured.deliveries).toBeGreaterThan(0)
      expect(measured.publisher?.published).toBeGreaterThan(0)
      expect(measured.publisher?.failed).toBe(0)
      expect(measured.lossCountedAgainst).toBe('sent')
      expect(measured.lost).toBe(0)
      expect(measured.tailLost).toBe(0)
      expect(measured.duplicates).toBe(0)
      expect(measured.outOfOrder).toBe(0)
      expect(measured.reconnects).toBe(0)
      // Judged on the thresholds: a machine busy with other test files may mark a run invalid
      // (harness saturation, publisher lag), which is the harness's verdict on itself, not the target's.
      expect(measured.thresholds.every((outcome) => outcome.passed)).toBe(true)
    }, 30_000)
  }

  test("a watch-list of 21 symbols is refused: Pushpin's cap is 20", async () => {
    const started: string[] = []
    const running = runScenario(scenarioFor('sse', 30, 21), {
      ...runOptions,
      // Called once a target is up, before any subscriber: it must never be reached.
      onTarget: (url) => started.push(url),
    })
    await expect(running).rejects.toThrow(TickstormError)
    await expect(running).rejects.toMatchObject({
      code: ERROR_CODES.INVALID_SCENARIO,
      message: expect.stringContaining('`subscribers.watchList.size` must be ≤ 20'),
      details: { problems: [expect.stringContaining('pushpin')] },
    })
    expect(started).toEqual([])
  })
})
