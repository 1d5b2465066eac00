import { beforeAll, describe, expect, it } from 'vitest'
import { tickstorm } from '../helpers/cli.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { openSse } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

let redis: TestRedis

beforeAll(async () => {
  redis = await startRedis()
})

// startRedis stops its server after the file (and has none to stop when it never started).

describe('tickstorm feed and serve --redis', () => {
  it('a generator and an edge of two worker threads; SIGTERM stops both cleanly', async () => {
    const generator = tickstorm(['feed', '--redis', redis.url, '--preset', 'normal', '--seed', '3'])
    await waitFor('the generator to start', () => /from event 1/.test(generator.stdout()), {
      timeoutMs: 20_000,
    })
    const edge = tickstorm(['serve', '--redis', redis.url, '--port', '0', '--workers', '2'])
    await waitFor('the URL line', () => /http:\/\/127\.0\.0\.1:\d+/.test(edge.stdout()), {
      timeoutMs: 20_000,
    })
    expect(edge.stdout()).toContain('seed 3')
    expect(edge.stdout()).toContain('edge of redis://127.0.0.1')
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(edge.stdout())![0]
    const stream = await openSse(`${url}/v1/stream?symbols=AAPL,MSFT,NVDA&snapshot=false`)
    await waitFor('events through Redis', () => stream.events.length >= 5, { timeoutMs: 20_000 })
    stream.close()
    edge.child.kill('SIGTERM')
    generator.child.kill('SIGTERM')
    expect(await edge.exit).toBe(0)
    expect(await generator.exit).toBe(0)
    expect(generator.stdout()).toContain('writing what is pending')
  })

  it('an edge refuses market flags (the market is the generator’s) with exit code 2', async () => {
    const run = tickstorm(['serve', '--redis', redis.url, '--seed', '2'])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain('give these to `tickstorm feed`')
  })

  it('feed without --redis is a usage error; an unreachable Redis is a clear error, exit 1', async () => {
    const missing = tickstorm(['feed'])
    expect(await missing.exit).toBe(2)
    expect(missing.stderr()).toContain('--redis <url> is required')
    const down = tickstorm(['feed', '--redis', 'redis://127.0.0.1:1'])
    expect(await down.exit).toBe(1)
    expect(down.stderr()).toContain('cannot reach redis at redis://127.0.0.1:1')
    expect(down.stderr()).toContain('TS_ERR_REDIS_UNAVAILABLE')
  })
})
