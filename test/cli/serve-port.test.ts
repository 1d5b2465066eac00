import { createServer as createNetServer, type Server } from 'node:net'
import { afterEach, beforeAll, describe, expect, test } from 'vitest'
import { expectBuilt, type Run, tickstorm } from '../helpers/cli.js'
import { freePort } from '../helpers/free-port.js'
import { waitFor } from '../helpers/wait.js'

beforeAll(() => {
  expectBuilt()
})

const holders: Server[] = []
afterEach(async () => {
  await Promise.all(
    holders
      .splice(0)
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  )
})

/** A node:net server holding a port the kernel chose: the port is taken by something not ours. */
async function holdPort(): Promise<number> {
  const server = createNetServer()
  holders.push(server)
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  return (server.address() as { port: number }).port
}

/** `serve` on a nonzero port, waited for until it prints its URL. */
async function serveOn(port: number, extra: string[] = []): Promise<Run> {
  const run = tickstorm(['serve', '--port', String(port), '--seed', '11', ...extra])
  await waitFor(
    `the server on port ${port}`,
    () => run.stdout().includes(`127.0.0.1:${port}`) || run.child.exitCode !== null,
    { state: () => run.stdout() + run.stderr() },
  )
  expect(run.child.exitCode, run.stderr()).toBe(null)
  return run
}

async function expectRefused(port: number, extra: string[] = []): Promise<void> {
  const second = tickstorm(['serve', '--port', String(port), '--seed', '22', ...extra])
  // Started (it prints its URL) or exited, whichever comes first: a refusal is an exit.
  await waitFor(
    'the second server to exit or start',
    () => second.child.exitCode !== null || second.stdout().includes('http://'),
    { state: () => second.stdout() + second.stderr() },
  )
  expect(second.stdout()).not.toContain('http://')
  expect(await second.exit, second.stderr()).toBe(1)
  expect(second.stderr()).toContain('TS_ERR_LISTEN_FAILED')
  expect(second.stderr()).toContain(`127.0.0.1:${port}`)
}

describe('tickstorm serve on a port that is taken', () => {
  // uWS binds a nonzero port with SO_REUSEPORT: without an exclusive bind, the second process
  // started too, and /healthz alternated between the two markets' seeds.
  test('a second serve on the same nonzero port exits 1 naming the port; the first keeps it', async () => {
    const port = await freePort()
    const first = await serveOn(port)
    await expectRefused(port)
    await expectRefused(port, ['--workers', '2'])
    // Every connection still lands on the first market.
    for (let i = 0; i < 8; i++) {
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
        seed: number
      }
      expect(health.seed).toBe(11)
    }
    first.child.kill('SIGTERM')
    expect(await first.exit).toBe(0)
  })

  test('a serve beside a --workers 2 server on its port exits 1 naming the port', async () => {
    const port = await freePort()
    const first = await serveOn(port, ['--workers', '2'])
    await expectRefused(port)
    await expectRefused(port, ['--workers', '2'])
    first.child.kill('SIGTERM')
    expect(await first.exit).toBe(0)
  })

  test('a port held by another program (a node:net server) is refused, one worker or two', async () => {
    const port = await holdPort()
    await expectRefused(port)
    await expectRefused(port, ['--workers', '2'])
  })
})
