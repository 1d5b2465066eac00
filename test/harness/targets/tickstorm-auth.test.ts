import { describe, expect, test } from 'vitest'
import { ERROR_CODES, TickstormError } from '../../../src/errors.js'
import { runScenario } from '../../../src/harness/runner.js'
import { parseScenario } from '../../../src/harness/scenario.js'
import { subscriberHeaders } from '../../../src/harness/subscriber-token.js'
import { adapterFor } from '../../../src/harness/target-adapter.js'
import { startServer } from '../../helpers/server.js'

/**
 * A tickstorm server that requires tokens (`authSecret`), measured as a URL target: with
 * `target.auth` every subscriber (and the harness's own universe and heads requests) carries a
 * token minted from the secret, on every streaming transport; without it the run stops before any
 * subscriber, saying the server wants a token; and a subscriber's token allows only its symbols.
 */

const SECRET = 'a-tickstorm-test-secret-of-32-bytes-or-more'

function scenarioFor(url: string, auth: boolean, transports: string) {
  return parseScenario(
    [
      'name: tickstorm-auth',
      'description: a tickstorm server that requires tokens',
      `target: { url: "${url}"${auth ? `, auth: { secret: ${SECRET} }` : ''} }`,
      `transports: ${transports}`,
      'subscribers:',
      '  count: 2',
      '  watchList: { size: 3 }',
      'warmupSec: 0',
      'durationSec: 1',
    ].join('\n'),
    'tickstorm-auth.yaml',
  )
}

const RUN_OPTIONS = {
  serverBin: 'unused',
  scenarioFile: 'tickstorm-auth.yaml',
  commit: 'test',
  workers: 0,
  retryMs: 50,
} as const

describe('a tickstorm target that requires tokens', () => {
  test('with target.auth: sse, eventsource, longpoll and ws all deliver, without an error', async () => {
    const server = await startServer({ authSecret: SECRET, ratePerSec: 2000 })
    // The server really refuses a subscription without a token.
    const refused = await fetch(`${server.url}/v1/snapshot?symbols=AAPL`)
    expect(refused.status).toBe(401)
    await refused.body?.cancel()
    const { result } = await runScenario(
      scenarioFor(server.url, true, '[sse, eventsource, longpoll, ws]'),
      RUN_OPTIONS,
    )
    expect(result.targetKind).toBe('tickstorm')
    expect(result.transports.map((t) => t.transport)).toEqual([
      'sse',
      'eventsource',
      'longpoll',
      'ws',
    ])
    for (const transport of result.transports) {
      const name = transport.transport
      expect(transport.failure, name).toBeUndefined()
      expect(transport.deliveries, name).toBeGreaterThan(0)
      expect(transport.errors, `${name}: ${JSON.stringify(transport.errorsByKind)}`).toBe(0)
      expect(transport.subscribers.connectedMax, name).toBe(2)
      // The heads (`/v1/snapshot?symbols=*`) were read with an every-symbol token: loss was
      // counted against what the server sent, not only from gaps.
      expect(transport.lossCountedAgainst, name).toBe('sent')
    }
    // Not one request of the run was refused: only the probe above was.
    expect(server.stats().auth).toEqual({ unauthorized: 1, forbidden: 0 })
    // (No `passed` here: with the server in the harness's own process, the harness's validity
    // judge may call a transport's measurement invalid, which says nothing about the tokens.)
  })

  test('without target.auth the run stops before any subscriber, saying the server wants a token', async () => {
    const server = await startServer({ authSecret: SECRET, ratePerSec: 2000 })
    const failure = await runScenario(scenarioFor(server.url, false, '[sse]'), RUN_OPTIONS).then(
      () => null,
      (error: unknown) => error as TickstormError,
    )
    expect(failure).toBeInstanceOf(TickstormError)
    expect(failure?.code).toBe(ERROR_CODES.INVALID_OPTIONS)
    expect(failure?.message).toContain('HTTP 401')
    expect(failure?.message).toContain('the server wants a token: give target.auth')
    // Refused before any subscriber: no stream was ever asked for.
    expect(server.stats().sse.opened).toBe(0)
  })

  test("a subscriber's token allows its own symbols and no other", async () => {
    const server = await startServer({ authSecret: SECRET, ratePerSec: 2000 })
    // The token the engines send for a subscriber of [AAPL], minted from the scenario's target.
    const adapter = adapterFor(scenarioFor(server.url, true, '[sse]'))
    expect(adapter.wire.token).toEqual({ secret: SECRET, ttlSec: 3600 })
    const headers = subscriberHeaders(adapter.wire.headers, adapter.wire.token, ['AAPL'])
    const own = await fetch(`${server.url}/v1/snapshot?symbols=AAPL`, { headers })
    expect(own.status).toBe(200)
    await own.body?.cancel()
    const other = await fetch(`${server.url}/v1/stream?symbols=MSFT`, { headers })
    expect(other.status).toBe(403)
    expect(await other.text()).toContain('the token does not allow MSFT')
    const all = await fetch(`${server.url}/v1/stream?symbols=*`, { headers })
    expect(all.status).toBe(403)
    await all.body?.cancel()
  })
})
