import { existsSync } from 'node:fs'
import { get } from 'node:http'
import { afterEach, expect } from 'vitest'
import { nowUs } from '../../src/clock.js'
import { createFeed, type Feed } from '../../src/feed/feed.js'
import { type ClusterDeps, createCluster } from '../../src/server/cluster.js'
import type { HealthDocument } from '../../src/server/health.js'
import type { TickstormServer } from '../../src/server/server.js'
import { FEED_OPTION_KEYS, pick, type ServerOptions } from '../../src/server/server-options.js'
import { waitFor } from './wait.js'

/**
 * The worker threads run compiled output, as in production (`npm test` builds first); this
 * thread runs the sources. Both are the same code, so ids and bytes agree.
 */
export const WORKER_URL = new URL('../../dist/src/server/cluster-worker.js', import.meta.url)

const started: TickstormServer[] = []

/** A real cluster on 127.0.0.1, any free port, closed after the test. */
export async function startCluster(
  options: Partial<ServerOptions>,
  workers: number,
  deps: ClusterDeps = {},
): Promise<TickstormServer> {
  expect(existsSync(WORKER_URL), 'run `npm run build` first').toBe(true)
  const cluster = await createCluster(
    { host: '127.0.0.1', port: 0, retryMs: 20, ...options },
    workers,
    {
      workerUrl: WORKER_URL,
      statsIntervalMs: 100,
      ...deps,
    },
  )
  started.push(cluster)
  return cluster
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((cluster) => cluster.close()))
})

/**
 * A feed that moves only when the test says so (`advance`), so that counters, heads and
 * snapshots hold still while they are compared across workers.
 */
export function manualFeed(): {
  readonly source: NonNullable<ClusterDeps['source']>
  readonly feed: () => Feed
  /** Runs frames until at least `events` more events exist; returns the new head. */
  advance(events: number): Promise<number>
} {
  let feed: Feed | undefined
  return {
    source: (options, market) => {
      const created = createFeed({ market }, pick(options, FEED_OPTION_KEYS))
      feed = created
      // Starting sets the feed's wall-clock origin; its pacer is stopped at once, and frames run
      // when the test advances the feed.
      const start = created.start
      return Object.assign(created, {
        start() {
          start()
          created.stop()
        },
      })
    },
    feed: () => feed!,
    async advance(events) {
      const target = feed!.headSeq + events
      await waitFor(`the feed to reach ${target}`, () => {
        feed!.runFrame(nowUs())
        return feed!.headSeq >= target
      })
      return feed!.headSeq
    },
  }
}

/** Waits until every worker has taken the frames up to `headSeq`. */
export async function caughtUp(cluster: TickstormServer, headSeq: number): Promise<HealthDocument> {
  let health: HealthDocument | undefined
  await waitForAsync(`every worker at ${headSeq}`, async () => {
    health = await cluster.health()
    return health.perWorker!.every((worker) => worker.headSeq === headSeq)
  })
  return health!
}

/** `waitFor` for an asynchronous condition. */
export async function waitForAsync(
  what: string,
  predicate: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A GET on a connection of its own (fetch would reuse one, and so one worker). */
export function getOnNewConnection(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      response.on('error', reject)
    }).on('error', reject)
  })
}
