import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, test } from 'vitest'
import { createLoadPool, type LoadPool, type StreamTransport } from '../../src/harness/load-pool.js'
import { createTickstormAdapter } from '../../src/harness/targets/tickstorm.js'
import { pickWatchLists } from '../../src/harness/watch-lists.js'
import { decodeHistogram } from '../../src/report/measurements.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

const TICKSTORM_WIRE = createTickstormAdapter({ headers: {}, query: {}, auth: null }).wire
const pools: LoadPool[] = []
afterEach(() => {
  for (const pool of pools.splice(0)) pool.close()
})

/** One pool of `transport` subscribers on this thread, closed after the test. */
function openPool(transport: StreamTransport, baseUrl: string): LoadPool {
  const pool = createLoadPool({
    transport,
    workerId: 0,
    baseUrl,
    retryMs: 50,
    localAddresses: [],
    wire: TICKSTORM_WIRE,
    universe: [],
  })
  pools.push(pool)
  return pool
}

async function universe(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/v1/symbols`)).json()) as {
    symbols: { symbol: string }[]
  }
  return body.symbols.map((entry) => entry.symbol)
}

describe.each<StreamTransport>(['sse', 'longpoll', 'ws', 'eventsource'])(
  '%s engine',
  (transport) => {
    test('subscribers receive, time and count every event, and resume after a drop with nothing lost', async () => {
      const server = await startServer({ ratePerSec: 2000, retryMs: 50 })
      const lists = pickWatchLists(await universe(server.url), 20, {
        size: 10,
        pick: 'zipf',
        seed: 3,
      })
      const pool = openPool(transport, server.url)
      pool.add(
        lists.map((symbols, index) => ({ index, symbols })),
        1000,
      )
      await waitFor(
        '20 connections and traffic',
        () => {
          const progress = pool.progress()
          return progress.connections === 20 && progress.deliveries > 1000
        },
        { state: () => pool.progress() },
      )
      const before = pool.progress().deliveries
      const dropped = await server.dropStreams()
      // Long polls are cut only while parked; streams and sockets are all cut.
      if (transport === 'longpoll') expect(dropped).toBeGreaterThan(0)
      else expect(dropped).toBe(20)
      await waitFor(
        'reconnected and flowing again',
        () => {
          const progress = pool.progress()
          return progress.connections === 20 && progress.deliveries > before + 1000
        },
        { state: () => pool.progress() },
      )
      const report = pool.report()
      expect(report.counters.gaps).toBe(0)
      expect(report.counters.duplicates).toBe(0)
      expect(report.counters.outOfOrder).toBe(0)
      expect(report.counters.resets).toBe(0)
      expect(report.counters.reconnects).toBe(dropped)
      expect(decodeHistogram(report.recovery).totalCount).toBe(dropped)
      const latency = decodeHistogram(report.latency)
      expect(latency.totalCount).toBe(report.counters.deliveries)
      expect(latency.getValueAtPercentile(50)).toBeGreaterThan(0)
      expect(latency.getValueAtPercentile(50)).toBeLessThan(1_000_000)
    })

    test('a subscriber of every symbol (no watch-list) asks for them and receives events', async () => {
      const server = await startServer({ ratePerSec: 2000 })
      const pool = openPool(transport, server.url)
      pool.add([{ index: 0, symbols: null }], 1000)
      await waitFor('events for the whole universe', () => pool.progress().deliveries > 200, {
        state: () => pool.progress(),
      })
      expect(pool.report().counters.errors).toBe(0)
    })
  },
)

/**
 * States of the client sides of connections to a server on loopback `port` (their peer is that
 * port), from /proc/net/tcp: addresses are hex `ip:port`, `st` 06 is TIME_WAIT.
 */
function clientSocketStates(port: number): string[] {
  const peer = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[2]?.endsWith(peer))
    .map((fields) => fields[3]!)
}

describe.each<StreamTransport>(['sse', 'longpoll', 'ws'])('%s engine, closing', (transport) => {
  test('closed subscribers leave no TIME_WAIT behind (a FIN would hold a loopback port 60 s)', async () => {
    // An idle market: with unread bytes in its buffer a closing socket sends a reset anyway.
    const server = await startServer({ ratePerSec: 0.001 })
    const port = Number(new URL(server.url).port)
    const pool = openPool(transport, server.url)
    pool.add(
      Array.from({ length: 30 }, (_, index) => ({ index, symbols: null })),
      1000,
    )
    await waitFor('30 connections', () => pool.progress().connections === 30, {
      state: () => pool.progress(),
    })
    expect(clientSocketStates(port).length).toBeGreaterThanOrEqual(30)
    pool.close()
    await waitFor(
      'every client socket closed or in TIME_WAIT',
      () => clientSocketStates(port).every((state) => state === '06'),
      { state: () => clientSocketStates(port) },
    )
    expect(clientSocketStates(port)).toEqual([])
  })
})

describe.each<StreamTransport>(['sse', 'longpoll', 'ws'])('%s engine, churn', (transport) => {
  test('subscribers that leave while still connecting count no error (the reset is the harness’s own)', async () => {
    const server = await startServer({ ratePerSec: 2000 })
    const pool = openPool(transport, server.url)
    const leaving = Array.from({ length: 20 }, (_, index) => ({ index, symbols: null }))
    pool.arrive(leaving)
    pool.leave(leaving.map((entry) => entry.index))
    // One that stays: once it receives, the resets of the others have long been handled.
    pool.arrive([{ index: 20, symbols: null }])
    await waitFor(
      'the one that stayed receives',
      () => pool.progress().connections === 1 && pool.progress().deliveries > 200,
      { state: () => pool.progress() },
    )
    expect(pool.report().errorsByKind).toEqual({})
  })
})
