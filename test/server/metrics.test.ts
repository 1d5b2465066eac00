import { describe, expect, test } from 'vitest'
import WebSocket from 'ws'
import type { Feed } from '../../src/feed/feed.js'
import type { TickstormServer } from '../../src/server/server.js'
import { startServer } from '../helpers/server.js'
import { openSse } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

interface Exposition {
  readonly types: ReadonlyMap<string, string>
  readonly samples: readonly Sample[]
  /** The one sample of `name` whose labels include `labels`; fails when there is not exactly one. */
  value(name: string, labels?: Record<string, string>): number
}

const METRIC_NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
const SAMPLE_LINE = new RegExp(
  `^(${METRIC_NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (-?[0-9.e+-]+|NaN|[+-]Inf)( -?\\d+)?$`,
)
const HELP_LINE = new RegExp(`^# HELP (${METRIC_NAME}) .*$`)
const TYPE_LINE = new RegExp(`^# TYPE (${METRIC_NAME}) (counter|gauge|histogram|summary|untyped)$`)

/**
 * Parses the Prometheus text exposition format (version 0.0.4) strictly: every line is a HELP,
 * a TYPE or a sample, TYPE comes before its samples, histogram samples use the _bucket/_sum/_count
 * suffixes. Any other line fails the test.
 */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  expect(text.endsWith('\n')).toBe(true)
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      const type = TYPE_LINE.exec(line)
      if (type !== null) {
        expect(types.has(type[1]!), `TYPE of ${type[1]} given twice`).toBe(false)
        types.set(type[1]!, type[2]!)
        continue
      }
      expect(HELP_LINE.test(line), `not a HELP or TYPE line: ${line}`).toBe(true)
      continue
    }
    const match = SAMPLE_LINE.exec(line)
    expect(match, `not a sample line: ${line}`).not.toBeNull()
    const [, name, labelText = '', value] = match!
    const family = types.has(name!) ? name! : name!.replace(/_(bucket|sum|count)$/, '')
    expect(types.has(family), `sample ${name} before its TYPE`).toBe(true)
    if (family !== name) expect(types.get(family)).toBe('histogram')
    const labels: Record<string, string> = {}
    for (const [, key, raw] of labelText.matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[key!] = raw!
    }
    samples.push({ name: name!, labels, value: Number(value) })
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const found = samples.filter(
        (sample) =>
          sample.name === name &&
          Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
      )
      expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1)
      return found[0]!.value
    },
  }
}

async function scrape(server: TickstormServer): Promise<Exposition> {
  const response = await fetch(`${server.url}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parseExposition(await response.text())
}

function openWs(server: TickstormServer): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/ws`)
    socket.once('open', () => {
      socket.send(JSON.stringify({ op: 'subscribe', symbols: ['AAPL'] }))
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

describe('GET /metrics', () => {
  test('connections per transport exactly, deliveries that rise, fan-out samples, valid exposition text', async () => {
    const server = await startServer({ ratePerSec: 2000 })
    const streams = await Promise.all([
      openSse(`${server.url}/v1/stream?symbols=AAPL,MSFT`),
      openSse(`${server.url}/v1/stream`),
    ])
    const socket = await openWs(server)
    await waitFor('events on both streams', () => streams.every((s) => s.events.length >= 10))

    const first = await scrape(server)
    expect(first.types.get('tickstorm_connections')).toBe('gauge')
    expect(first.types.get('tickstorm_deliveries_total')).toBe('counter')
    expect(first.types.get('tickstorm_fanout_duration_seconds')).toBe('histogram')
    expect(first.value('tickstorm_connections', { transport: 'sse' })).toBe(2)
    expect(first.value('tickstorm_connections', { transport: 'ws' })).toBe(1)
    const sseDeliveries = first.value('tickstorm_deliveries_total', { transport: 'sse' })
    expect(sseDeliveries).toBeGreaterThan(0)
    expect(first.value('tickstorm_bytes_written_total', { transport: 'sse' })).toBeGreaterThan(0)
    expect(first.value('tickstorm_feed_head_sequence')).toBeGreaterThan(0)
    expect(first.value('tickstorm_pacing_lag_seconds', { stat: 'max' })).toBeGreaterThanOrEqual(0)
    expect(first.value('tickstorm_sheds_total', { transport: 'sse' })).toBe(0)

    // The histogram: cumulative buckets ending in +Inf = count, and at least one frame observed.
    const count = first.value('tickstorm_fanout_duration_seconds_count')
    expect(count).toBeGreaterThan(0)
    expect(first.value('tickstorm_fanout_duration_seconds_bucket', { le: '+Inf' })).toBe(count)
    const buckets = first.samples
      .filter((sample) => sample.name === 'tickstorm_fanout_duration_seconds_bucket')
      .map((sample) => sample.value)
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b))
    expect(first.value('tickstorm_fanout_duration_seconds_sum')).toBeGreaterThan(0)

    const seen = streams[1]!.events.length
    await waitFor('more events', () => streams[1]!.events.length > seen + 20)
    const second = await scrape(server)
    expect(second.value('tickstorm_deliveries_total', { transport: 'sse' })).toBeGreaterThan(
      sseDeliveries,
    )
    expect(second.value('tickstorm_fanout_duration_seconds_count')).toBeGreaterThan(count)

    // A parked long poll counts as a poll connection: stop the feed so it stays parked.
    ;(server.feed as Feed).stop()
    const parked = fetch(`${server.url}/v1/poll?cursor=${server.feed.headSeq}&timeoutMs=60000`)
    await waitFor('the poll to park', () => server.stats().longpoll.connections === 1)
    streams[0]!.close()
    await waitFor('the closed stream to be gone', () => server.stats().sse.connections === 1)
    const third = await scrape(server)
    expect(third.value('tickstorm_connections', { transport: 'sse' })).toBe(1)
    expect(third.value('tickstorm_connections', { transport: 'longpoll' })).toBe(1)
    expect(third.value('tickstorm_connections', { transport: 'ws' })).toBe(1)
    socket.close()
    streams[1]!.close()
    await server.dropStreams()
    await parked.catch(() => undefined)
  })

  test('replay hits and misses, and auth rejections, are counted', async () => {
    const server = await startServer({ authSecret: 'metrics-test-secret-of-32-bytes-or-more' })
    await waitFor('some events', () => server.feed.headSeq > 5)
    expect((await fetch(`${server.url}/v1/snapshot`)).status).toBe(401)
    const open = await startServer()
    await waitFor('some events', () => open.feed.headSeq > 5)
    const hit = await fetch(`${open.url}/v1/poll?cursor=1&timeoutMs=0`)
    const miss = await fetch(`${open.url}/v1/poll?cursor=nonsense&timeoutMs=0`)
    expect([hit.status, miss.status]).toEqual([200, 200])
    const metrics = await scrape(open)
    expect(metrics.value('tickstorm_replays_total', { transport: 'longpoll', result: 'hit' })).toBe(
      1,
    )
    expect(
      metrics.value('tickstorm_replays_total', { transport: 'longpoll', result: 'miss' }),
    ).toBe(1)
    expect(metrics.value('tickstorm_auth_rejections_total', { reason: 'unauthorized' })).toBe(0)
    // Each server has its own registry: the other one's rejection shows only there.
    const guarded = await scrape(server)
    expect(guarded.value('tickstorm_auth_rejections_total', { reason: 'unauthorized' })).toBe(1)
    // /metrics itself stays open when auth is on.
    expect(guarded.value('tickstorm_connections', { transport: 'sse' })).toBe(0)
  })
})
