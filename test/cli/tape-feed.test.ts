import { beforeAll, describe, expect, it } from 'vitest'
import { openTape } from '../../src/market/tapes/open-tape.js'
import { tickstorm } from '../helpers/cli.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { dbnTape, expected, FROM_START, ticks, withoutTs } from '../market/tapes/replay-tapes.js'
import { readAll, tapeDir, writeTape } from '../market/tapes/tape-files.js'

let redis: TestRedis

beforeAll(async () => {
  redis = await startRedis()
})

describe('tickstorm feed --tape', () => {
  it('a tape drives a Redis edge: the universe, ticks, ids and q of the tape', async () => {
    const path = writeTape(tapeDir(), 'open.dbn', dbnTape())
    const want = expected((await readAll(await openTape(path))).events, ['AAPL', 'MSFT'])
    const prefix = 'tape-feed'
    const generator = tickstorm([
      'feed',
      '--redis',
      redis.url,
      '--redis-prefix',
      prefix,
      '--tape',
      path,
      '--speed',
      '4',
    ])
    await waitFor('the generator to start', () => /from event 1/.test(generator.stdout()), {
      timeoutMs: 20_000,
      state: () => generator.stderr(),
    })
    expect(generator.stdout()).toContain('2 symbols (replaying dbn tape')
    const edge = tickstorm(['serve', '--redis', redis.url, '--redis-prefix', prefix, '--port', '0'])
    await waitFor('the URL line', () => /http:\/\/127\.0\.0\.1:\d+/.test(edge.stdout()), {
      timeoutMs: 20_000,
      state: () => edge.stderr(),
    })
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(edge.stdout())![0]
    const symbols = await (await fetch(`${url}/v1/symbols`)).json()
    expect(symbols).toMatchObject({
      count: 2,
      symbols: [{ symbol: 'AAPL', startPrice: 100.025 }, { symbol: 'MSFT' }],
    })
    const live = await ticks(`${url}/v1/stream?symbols=AAPL,MSFT`, want.length, FROM_START)
    expect(withoutTs(live)).toEqual(want)
    expect(live.map((event) => event.id)).toEqual(want.map((_, i) => i + 1))

    // An edge of two worker threads: each reads the universe from the meta hash too.
    const cluster = tickstorm([
      'serve',
      '--redis',
      redis.url,
      '--redis-prefix',
      prefix,
      '--port',
      '0',
      '--workers',
      '2',
    ])
    await waitFor(
      'the cluster URL line',
      () => /http:\/\/127\.0\.0\.1:\d+/.test(cluster.stdout()),
      {
        timeoutMs: 20_000,
        state: () => cluster.stderr(),
      },
    )
    const clusterUrl = /http:\/\/127\.0\.0\.1:\d+/.exec(cluster.stdout())![0]
    for (const read of await Promise.all(
      [1, 2, 3].map(() =>
        ticks(`${clusterUrl}/v1/stream?symbols=AAPL,MSFT`, want.length, FROM_START),
      ),
    )) {
      expect(withoutTs(read)).toEqual(want)
    }
    cluster.child.kill('SIGTERM')
    expect(await cluster.exit).toBe(0)

    // A replay starts a stream of its own: the same prefix again is refused, exit 2.
    const again = tickstorm([
      'feed',
      '--redis',
      redis.url,
      '--redis-prefix',
      prefix,
      '--tape',
      path,
    ])
    expect(await again.exit).toBe(2)
    expect(again.stderr()).toContain('a tape replay starts a stream of its own')

    edge.child.kill('SIGTERM')
    generator.child.kill('SIGTERM')
    expect(await edge.exit).toBe(0)
    expect(await generator.exit).toBe(0)
  })

  it('model flags with --tape are refused, exit 2', async () => {
    const path = writeTape(tapeDir(), 'open.dbn', dbnTape())
    const run = tickstorm(['feed', '--redis', redis.url, '--tape', path, '--preset', 'quiet'])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain("--preset: --tape replays the tape's market")
  })
})
