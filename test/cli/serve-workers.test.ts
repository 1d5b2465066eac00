import { beforeAll, describe, expect, test } from 'vitest'
import type { HealthDocument } from '../../src/server/health.js'
import { expectBuilt, tickstorm } from '../helpers/cli.js'
import { openSse, type SseCollector } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

beforeAll(() => {
  expectBuilt()
})

describe('tickstorm serve --workers', () => {
  test('--workers 2 --port 0 prints its URL, serves from both workers, and drains both on SIGTERM', async () => {
    const run = tickstorm(['serve', '--workers', '2', '--port', '0', '--rate', '2000'])
    await waitFor('the URL line', () => /http:\/\/127\.0\.0\.1:\d+/.test(run.stdout()), {
      state: () => run.stdout() + run.stderr(),
    })
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(run.stdout())![0]
    const streams: SseCollector[] = []
    for (let i = 0; i < 16; i++) streams.push(await openSse(`${url}/v1/stream?symbols=AAPL,MSFT`))
    const health = (await (await fetch(`${url}/healthz`)).json()) as HealthDocument
    expect(health.workers).toBe(2)
    expect(health.connections.sse).toBe(16)
    const perWorker = health.perWorker!.map((worker) => worker.connections.sse)
    expect(
      perWorker.every((count) => count > 0),
      `streams per worker: ${perWorker}`,
    ).toBe(true)
    await waitFor('ticks on every stream', () => streams.every((s) => s.events.length >= 3))
    run.child.kill('SIGTERM')
    await Promise.all(streams.map((stream) => stream.ended))
    expect(await run.exit).toBe(0)
    for (const stream of streams) expect(stream.retries).toHaveLength(2)
    // The count is the workers' last report (they send one a second), so it may lag a little.
    expect(run.stdout()).toMatch(/SIGTERM: draining \d+ stream\(s\)/)
    expect(run.stderr()).toBe('')
  })

  test('a bad --workers is exit 2 with the problem; --help describes it', async () => {
    const zero = tickstorm(['serve', '--workers', '0', '--port', '0'])
    expect(await zero.exit).toBe(2)
    expect(zero.stderr()).toContain('--workers must be an integer from 1 to 64, got "0"')
    const missing = tickstorm(['serve', '--workers'])
    expect(await missing.exit).toBe(2)
    expect(missing.stderr()).toContain('--workers needs a number')
    const help = tickstorm(['serve', '--help'])
    expect(await help.exit).toBe(0)
    expect(help.stdout()).toContain('--workers <n>')
  })
})
