import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { nowUs } from '../../src/clock.js'
import { createPublisher, type Publisher } from '../../src/harness/publisher.js'
import type { PublishedTick, PublishRequest } from '../../src/harness/targets/adapter.js'
import { createMarket } from '../../src/market/market.js'
import { waitFor } from '../helpers/wait.js'

/** One POST as the server saw it, with the answer it gave. */
interface Post {
  readonly path: string
  readonly id: number
  readonly type: string
  readonly body: string
  readonly status: number
}

interface Recorder {
  readonly url: string
  readonly posts: Post[]
  close(): Promise<void>
}

/** A publish API on 127.0.0.1:0 that records every POST; `answer` picks the status and delay. */
async function startRecorder(
  answer: (index: number) => { status: number; delayMs?: number } = () => ({ status: 204 }),
): Promise<Recorder> {
  const posts: Post[] = []
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const { status, delayMs = 0 } = answer(posts.length)
      const respond = (): void => {
        posts.push({
          path: req.url ?? '',
          id: Number(req.headers['x-event-id']),
          type: String(req.headers['x-event-type']),
          body: Buffer.concat(chunks).toString('utf8'),
          status,
        })
        res.writeHead(status).end()
      }
      if (delayMs > 0) setTimeout(respond, delayMs)
      else respond()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/pub`,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** nchan-like: one POST per tick to the symbol's channel, id and type in headers. */
const perTick = (ticks: readonly PublishedTick[]): PublishRequest[] =>
  ticks.map((tick) => ({
    method: 'POST',
    path: `/${tick.symbol}`,
    headers: {
      'content-type': 'application/json',
      'x-event-id': String(tick.id),
      'x-event-type': tick.type,
    },
    body: tick.data,
  }))

/** Pushpin-like: one POST per frame carrying every tick. */
const perFrame = (ticks: readonly PublishedTick[]): PublishRequest[] => [
  {
    method: 'POST',
    path: '/batch',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ticks),
  },
]

const MARKET = {
  preset: 'normal',
  seed: 7,
  symbols: 5,
  ratePerSec: 200,
  frameMs: 5,
  speed: 1,
} as const

interface Payload {
  ts: number
  sym: string
  q: number
  [field: string]: unknown
}

const recorders: Recorder[] = []
const publishers: Publisher[] = []
afterEach(async () => {
  await Promise.all(publishers.splice(0).map((publisher) => publisher.stop()))
  await Promise.all(recorders.splice(0).map((recorder) => recorder.close()))
})

async function recorder(answer?: Parameters<typeof startRecorder>[0]): Promise<Recorder> {
  const started = await startRecorder(answer)
  recorders.push(started)
  return started
}

function publisher(options: Parameters<typeof createPublisher>[0]): Publisher {
  const created = createPublisher(options)
  publishers.push(created)
  return created
}

/** Ticks handed to requests so far: q counts from 1 per symbol in a fresh market. */
function ticksSent(pub: Publisher): number {
  return [...pub.sentHeads().values()].reduce((a, b) => a + b, 0)
}

/** The highest q per symbol among the payloads. */
function lastQ(payloads: readonly Payload[]): Map<string, number> {
  const last = new Map<string, number>()
  for (const p of payloads) last.set(p.sym, Math.max(last.get(p.sym) ?? 0, p.q))
  return last
}

describe('the harness publisher', () => {
  test('exposes the universe in /v1/symbols order (the market instruments)', () => {
    const market = createMarket({ preset: 'normal', seed: 7, symbols: 40 })
    const pub = publisher({
      market: { ...MARKET, symbols: 40 },
      publishUrl: 'http://127.0.0.1:1',
      requests: perTick,
    })
    expect(pub.symbols).toEqual(market.instruments.map((instrument) => instrument.symbol))
  })

  test('publishes tick JSON on schedule: per-symbol q without gaps and in order, heads acknowledged', async () => {
    const server = await recorder()
    const pub = publisher({ market: MARKET, publishUrl: server.url, requests: perTick })
    const fromUs = nowUs()
    pub.start()
    await waitFor('150 publishes recorded', () => server.posts.length >= 150, {
      state: () => server.posts.length,
    })
    await pub.stop()
    const toUs = nowUs()

    const stats = pub.stats()
    expect(stats.requests).toBe(server.posts.length)
    expect(stats.published).toBe(server.posts.length)
    expect(stats.failed).toBe(0)
    expect(stats.errors).toEqual({})
    expect(stats.pending).toBe(0)

    const bySymbol = new Map<string, Payload[]>()
    for (const post of server.posts) {
      const payload = JSON.parse(post.body) as Payload
      expect(post.path).toBe(`/pub/${payload.sym}`)
      expect(pub.symbols).toContain(payload.sym)
      expect(payload.ts).toBeGreaterThanOrEqual(fromUs)
      expect(payload.ts).toBeLessThanOrEqual(toUs)
      // The type matches the payload's shape (tickstorm's tick JSON, keys in its order).
      const shape = {
        quote: ['bp', 'bs', 'ap', 'as'],
        trade: ['p', 's', 'c'],
        status: ['status', 'reason'],
      }
      expect(Object.keys(payload)).toEqual([
        'ts',
        'sym',
        'q',
        ...shape[post.type as keyof typeof shape],
      ])
      bySymbol.set(payload.sym, [...(bySymbol.get(payload.sym) ?? []), payload])
    }
    expect(bySymbol.size).toBeGreaterThan(1)
    for (const [sym, payloads] of bySymbol) {
      // Arrival order: one symbol's ticks share one connection, so the server sees q in order.
      const first = payloads[0]!.q
      expect(
        payloads.map((p) => p.q),
        sym,
      ).toEqual(payloads.map((_, i) => first + i))
      for (let i = 1; i < payloads.length; i++) {
        expect(payloads[i]!.ts).toBeGreaterThanOrEqual(payloads[i - 1]!.ts)
      }
    }
    // Ids are the stream-wide sequence 1, 2, 3, …
    expect(server.posts.map((post) => post.id).sort((a, b) => a - b)).toEqual(
      server.posts.map((_, i) => i + 1),
    )
    const received = lastQ([...bySymbol.values()].flat())
    expect(new Map(pub.heads())).toEqual(received)
    expect(new Map(pub.sentHeads())).toEqual(received)
  })

  test('the same seed publishes the same (sym, q, kind) sequence', async () => {
    const runOnce = async (seed: number = MARKET.seed): Promise<string[]> => {
      const server = await recorder()
      const pub = publisher({
        market: { ...MARKET, seed },
        publishUrl: server.url,
        requests: perTick,
      })
      pub.start()
      await waitFor('100 publishes recorded', () => server.posts.length >= 100)
      await pub.stop()
      return [...server.posts]
        .sort((a, b) => a.id - b.id)
        .map((post) => {
          const payload = JSON.parse(post.body) as Payload
          return `${payload.sym}:${payload.q}:${post.type}`
        })
    }
    const [a, b] = [await runOnce(), await runOnce()]
    const common = Math.min(a.length, b.length)
    expect(common).toBeGreaterThanOrEqual(100)
    expect(a.slice(0, common)).toEqual(b.slice(0, common))
    // …and it is the seed that decides it: another seed publishes another sequence.
    const c = await runOnce(8)
    expect(c.slice(0, 100)).not.toEqual(a.slice(0, 100))
  })

  test('a batching adapter: one request per frame, every tick in it, heads from its acknowledgements', async () => {
    const server = await recorder()
    const pub = publisher({ market: MARKET, publishUrl: server.url, requests: perFrame })
    pub.start()
    await waitFor('100 ticks published', () => pub.stats().published >= 100)
    await pub.stop()
    const ticks = server.posts.flatMap((post) => JSON.parse(post.body) as PublishedTick[])
    expect(ticks.map((tick) => tick.id)).toEqual(ticks.map((_, i) => i + 1))
    expect(pub.stats().published).toBe(ticks.length)
    expect(pub.stats().requests).toBe(server.posts.length)
    const payloads = ticks.map((tick) => JSON.parse(tick.data) as Payload)
    expect(new Map(pub.heads())).toEqual(lastQ(payloads))
  })

  test('500 answers count as failed, by kind, and heads stay where acknowledgements left them', async () => {
    const server = await recorder((index) => ({ status: index < 40 ? 200 : 500 }))
    const pub = publisher({ market: MARKET, publishUrl: server.url, requests: perTick })
    pub.start()
    await waitFor('40 failed publishes', () => pub.stats().failed >= 40, {
      state: () => pub.stats(),
    })
    await pub.stop()
    const stats = pub.stats()
    const ok = server.posts.filter((post) => post.status === 200)
    const failedPosts = server.posts.filter((post) => post.status === 500)
    expect(ok).toHaveLength(40)
    expect(stats.published).toBe(40)
    expect(stats.failed).toBe(failedPosts.length)
    expect(stats.errors).toEqual({ 'http-500': failedPosts.length })
    expect(stats.lagUs.max).toBeGreaterThan(0)
    const acknowledged = lastQ(ok.map((post) => JSON.parse(post.body) as Payload))
    expect(new Map(pub.heads())).toEqual(acknowledged)
    const sent = lastQ(server.posts.map((post) => JSON.parse(post.body) as Payload))
    expect(new Map(pub.sentHeads())).toEqual(sent)
    expect([...sent].some(([sym, q]) => q > (acknowledged.get(sym) ?? 0))).toBe(true)

    pub.reset()
    expect(pub.stats()).toMatchObject({
      published: 0,
      failed: 0,
      requests: 0,
      errors: {},
      behind: false,
    })
    expect(new Map(pub.heads())).toEqual(acknowledged)
  })

  test('a refused connection counts by its code, and nothing throws', async () => {
    const server = await recorder()
    const url = server.url
    await server.close()
    recorders.length = 0
    const pub = publisher({ market: MARKET, publishUrl: url, requests: perTick })
    pub.start()
    await waitFor('20 refused publishes', () => (pub.stats().errors['ECONNREFUSED'] ?? 0) >= 20, {
      state: () => pub.stats(),
    })
    await pub.stop()
    expect(pub.stats().published).toBe(0)
    expect(pub.stats().failed).toBe(ticksSent(pub))
    expect(pub.heads().size).toBe(0)
    expect(pub.sentHeads().size).toBeGreaterThan(0)
  })

  test('a request node cannot build (a bad header from the adapter) fails alone, by its code', async () => {
    const server = await recorder()
    const badHeader = (ticks: readonly PublishedTick[]): PublishRequest[] =>
      perTick(ticks).map((request) => ({ ...request, headers: { 'x-bad': 'a\nb' } }))
    const pub = publisher({ market: MARKET, publishUrl: server.url, requests: badHeader })
    pub.start()
    await waitFor('20 refused requests', () => pub.stats().failed >= 20, {
      state: () => pub.stats(),
    })
    await pub.stop()
    expect(Object.keys(pub.stats().errors)).toEqual(['ERR_INVALID_CHAR'])
    expect(pub.stats().failed).toBe(ticksSent(pub))
    expect(server.posts).toHaveLength(0)
  })

  test('a publish API answering after 300 ms shows as lag ≥ 300 ms, and behind once requests pile up', async () => {
    const server = await recorder(() => ({ status: 200, delayMs: 300 }))
    const pub = publisher({
      market: { ...MARKET, ratePerSec: 40 },
      publishUrl: server.url,
      requests: perTick,
      maxPendingRequests: 5,
      stopWaitMs: 500,
    })
    pub.start()
    await waitFor('5 acknowledged publishes', () => pub.stats().published >= 5, {
      state: () => pub.stats(),
    })
    const stats = pub.stats()
    expect(stats.lagUs.p99).toBeGreaterThanOrEqual(300_000)
    expect(stats.lagUs.p50).toBeGreaterThanOrEqual(300_000)
    expect(stats.behind).toBe(true)
    expect(stats.behindReason).toMatch(/requests waiting/)
    await pub.stop()
    // What stop() could not wait for was cut and counted, not lost.
    const after = pub.stats()
    expect(after.pending).toBe(0)
    expect(after.published + after.failed).toBe(ticksSent(pub))
    expect(after.errors['stopped'] ?? 0).toBeGreaterThan(0)
  })

  test("a slow publish API is the target's latency, not the harness's lateness: not behind", async () => {
    const fast = await recorder()
    const quick = publisher({ market: MARKET, publishUrl: fast.url, requests: perTick })
    quick.start()
    await waitFor('50 publishes', () => quick.stats().published >= 50)
    await quick.stop()
    expect(quick.stats().behind).toBe(false)
    expect(quick.stats().lagUs.p99).toBeLessThan(100_000)

    const slow = await recorder(() => ({ status: 200, delayMs: 300 }))
    const late = publisher({
      market: { ...MARKET, ratePerSec: 20 },
      publishUrl: slow.url,
      requests: perTick,
      stopWaitMs: 200,
    })
    late.start()
    await waitFor('3 acknowledged publishes', () => late.stats().published >= 3)
    expect(late.stats().lagUs.p99).toBeGreaterThanOrEqual(300_000)
    expect(late.stats().lateUs.p99).toBeLessThan(100_000)
    expect(late.stats().behind).toBe(false)
    await late.stop()
  })

  test('frames the harness runs late (its event loop blocked) make it behind', async () => {
    const server = await recorder()
    const pub = publisher({ market: MARKET, publishUrl: server.url, requests: perTick })
    pub.start()
    // The harness's own event loop held for 300 ms, three times: its frames run that late.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      const until = Date.now() + 300
      while (Date.now() < until) {
        // busy: the publisher's timer cannot fire
      }
    }
    await waitFor('the late frames counted', () => pub.stats().lateUs.max >= 250_000)
    const stats = pub.stats()
    expect(stats.behind).toBe(true)
    expect(stats.behindReason).toMatch(/frames ran late/)
    await pub.stop()
  })

  test('invalid options are reported together', () => {
    expect(() =>
      createPublisher({
        market: { ...MARKET, frameMs: 0, speed: 0 },
        publishUrl: 'ftp://x',
        requests: perTick,
        connections: 0,
      }),
    ).toThrow(/frameMs[\s\S]*speed[\s\S]*connections[\s\S]*publishUrl/)
  })
})
