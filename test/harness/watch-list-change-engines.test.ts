import { afterEach, describe, expect, test } from 'vitest'
import { createLoadPool, type LoadPool, type StreamTransport } from '../../src/harness/load-pool.js'
import { createTickstormAdapter } from '../../src/harness/targets/tickstorm.js'
import { pickWatchLists } from '../../src/harness/watch-lists.js'
import { decodeHistogram } from '../../src/report/measurements.js'
import { startServer } from '../helpers/server.js'
import { waitFor } from '../helpers/wait.js'

// Watch-list changes through each engine against a real server: the pool draws the changes and
// makes them, the engine asks the server the target's way (another subscribe on the WebSocket, a
// reconnect resuming by id elsewhere), and the symbols kept lose nothing.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!'
const SUBSCRIBERS = 10
const pools: LoadPool[] = []
afterEach(() => {
  for (const pool of pools.splice(0)) pool.close()
})

type Case = { readonly transport: StreamTransport; readonly token: boolean }

describe.each<Case>([
  { transport: 'sse', token: false },
  { transport: 'eventsource', token: false },
  { transport: 'longpoll', token: false },
  { transport: 'ws', token: false },
  // A token's claim names the old symbols: the WebSocket reconnects with a new one.
  { transport: 'ws', token: true },
])('$transport engine (token: $token)', ({ transport, token }) => {
  test('changes are made, acknowledged, and lose or repeat nothing of the symbols kept', async () => {
    const server = await startServer({
      ratePerSec: 2000,
      retryMs: 50,
      ...(token ? { authSecret: SECRET } : {}),
    })
    const adapter = createTickstormAdapter({
      headers: {},
      query: {},
      auth: token ? { secret: SECRET, ttlSec: 600 } : null,
    })
    const symbols = (await adapter.universe(server.url, undefined))!
    expect(symbols.length).toBeGreaterThan(20)
    const lists = pickWatchLists(symbols, SUBSCRIBERS, { size: 8, pick: 'zipf', seed: 3 })
    const pool = createLoadPool({
      transport,
      workerId: 0,
      baseUrl: server.url,
      retryMs: 50,
      localAddresses: [],
      wire: adapter.wire,
      universe: symbols,
    })
    pools.push(pool)
    pool.planChanges({ everySec: 0.1, swap: 3, pick: 'zipf', seed: 5, stream: 'test' })
    pool.arrive(lists.map((list, index) => ({ index, symbols: list })))
    const changed = () => {
      const report = pool.report()
      const changes = report.watchListChanges!
      return {
        changes: changes.changes,
        acknowledged: decodeHistogram(changes.acknowledged).totalCount,
        counters: report.counters,
        errorsByKind: report.errorsByKind,
      }
    }
    await waitFor(
      '60 changes acknowledged',
      () => changed().acknowledged >= 60 && pool.progress().deliveries > 1000,
      { state: changed, timeoutMs: 20_000 },
    )
    // Every symbol a subscriber holds now, up to what the server had sent, arrives.
    const heads = (await adapter.heads(server.url, symbols, undefined))!
    expect(heads.size).toBeGreaterThan(0)
    await waitFor('nothing missing of what was sent', () => pool.tail(heads, false) === 0, {
      state: () => pool.tail(heads, false),
    })
    const { changes, acknowledged, counters, errorsByKind } = changed()
    expect(acknowledged).toBeLessThanOrEqual(changes)
    // Nothing goes wrong, and a change itself is never a drop.
    expect(errorsByKind).toEqual({})
    expect({
      gaps: counters.gaps,
      duplicates: counters.duplicates,
      outOfOrder: counters.outOfOrder,
      resets: counters.resets,
      reconnects: counters.reconnects,
    }).toEqual({ gaps: 0, duplicates: 0, outOfOrder: 0, resets: 0, reconnects: 0 })
    if (transport === 'ws' && !token) {
      // In place: the sockets of the start, each change answered with a snapshot of the new set.
      expect(counters.connects).toBe(SUBSCRIBERS)
      expect(counters.snapshots).toBeGreaterThanOrEqual(SUBSCRIBERS + acknowledged)
    } else if (transport !== 'eventsource') {
      // A connection per change answered (a poll's too), none counted as a drop; a change made
      // before a subscriber's first answer is answered by it. (An EventSource times only its
      // first connect.)
      expect(counters.connects).toBeGreaterThan(SUBSCRIBERS)
      expect(counters.connects).toBeGreaterThanOrEqual(acknowledged)
    }
    // Stopped (the window's end): no change is made any more while events keep flowing.
    pool.planChanges(null)
    const stoppedAt = changed().changes
    const flowing = pool.progress().deliveries
    await waitFor('2,000 more events', () => pool.progress().deliveries > flowing + 2000, {
      state: () => pool.progress(),
    })
    expect(changed().changes).toBe(stoppedAt)
  }, 40_000)
})
