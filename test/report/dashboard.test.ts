import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { connect } from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventSource } from 'eventsource'
import { afterEach, describe, expect, expectTypeOf, test } from 'vitest'
import { ERROR_CODES } from '../../src/errors.js'
import { createEventHistory, encodeEvent } from '../../src/report/dashboard/event-stream.js'
import {
  createFramer,
  type DashboardFrame,
  type DashboardSample,
} from '../../src/report/dashboard/frame.js'
import {
  type Dashboard,
  type DashboardDoneEvent,
  type DashboardHello,
  type DashboardOptions,
  startDashboard,
} from '../../src/report/dashboard/server.js'
import type { LiveWindow } from '../../src/report/live.js'
import { emptyCounters, emptyHistogram } from '../../src/report/measurements.js'
import type * as onThePage from '../../src/web/dashboard/frame.js'
import { dashboardFrame } from '../helpers/dashboard-frame.js'
import { openSse, payload } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The run dashboard's server, fed synthetic frames: the event-stream framing as bytes, the
 * history a late browser and a returning one (Last-Event-ID) read, the loopback-only listener,
 * and the `done` event with the run's report.html. Clients are real: fetch for the bytes, the
 * `eventsource` package for what a browser's EventSource does.
 */

const open: { close(): unknown }[] = []
const dashboards: Dashboard[] = []
afterEach(async () => {
  for (const client of open.splice(0)) client.close()
  for (const dashboard of dashboards.splice(0)) await dashboard.close()
})

async function dashboard(options: Partial<DashboardOptions> = {}): Promise<Dashboard> {
  const started = await startDashboard({
    port: 0,
    scenario: 'synthetic',
    transports: ['sse', 'ws'],
    pageRoot: null,
    ...options,
  })
  dashboards.push(started)
  return started
}

interface Received {
  readonly type: string
  readonly id: string
  readonly data: string
}

/**
 * An `eventsource` client that records every event by type. `fetch` wraps the response body so
 * the test can end the stream as a dropped connection would (`drop`): the client then
 * reconnects by itself, with Last-Event-ID, as a browser does. `requests` are the headers each
 * connection sent.
 */
function listen(url: string) {
  const received: Received[] = []
  const requests: Headers[] = []
  let cut: (() => void) | null = null
  const source = new EventSource(`${url}events`, {
    fetch: async (input, init) => {
      requests.push(new Headers(init.headers))
      const response = await fetch(input, init)
      const reader = response.body!.getReader()
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          cut = () => controller.close()
        },
        async pull(controller) {
          const { done, value } = await reader.read()
          if (done) controller.close()
          else controller.enqueue(value)
        },
        cancel: () => reader.cancel(),
      })
      return new Response(body, { status: response.status, headers: response.headers })
    },
  })
  open.push(source)
  for (const type of ['hello', 'frame', 'reset', 'done']) {
    source.addEventListener(type, (event) => {
      received.push({ type, id: event.lastEventId, data: event.data })
    })
  }
  return {
    source,
    received,
    requests,
    of: (type: string) => received.filter((event) => event.type === type),
    drop: () => cut?.(),
  }
}

describe('the page reads what the server sends', () => {
  // The page is a browser bundle that imports nothing from report, so it restates these types;
  // tsc (npx tsc --noEmit, in CI) fails here when one side changes and the other does not.
  test('frames, hello and done have the same shape on both sides', () => {
    expectTypeOf<onThePage.DashboardFrame>().toEqualTypeOf<DashboardFrame>()
    expectTypeOf<onThePage.Hello>().toEqualTypeOf<DashboardHello>()
    expectTypeOf<onThePage.Done>().toEqualTypeOf<DashboardDoneEvent>()
  })
})

describe('the event stream, as bytes', () => {
  test('headers for proxies, then retry:, hello (no id), frames with ids, and comment heartbeats', async () => {
    const board = await dashboard({ heartbeatMs: 50, retryMs: 750 })
    board.publish(dashboardFrame(1))
    const response = await fetch(`${board.url}events`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(response.headers.get('cache-control')).toContain('no-cache')
    expect(response.headers.get('cache-control')).toContain('no-transform')
    expect(response.headers.get('x-accel-buffering')).toBe('no')
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    const readUntil = async (what: string, done: () => boolean) => {
      while (!done()) {
        const chunk = await reader.read()
        if (chunk.done) throw new Error(`the stream ended before ${what}: ${text}`)
        text += decoder.decode(chunk.value, { stream: true })
      }
    }
    await readUntil('the replayed frame', () => text.includes('event: frame'))
    board.publish(dashboardFrame(2))
    await readUntil('a heartbeat after the live frame', () =>
      /event: frame[\s\S]*event: frame[\s\S]*: keep-alive\n\n/.test(text),
    )
    await reader.cancel()
    const run = /"run":"([0-9a-z]+)"/.exec(text)![1]!
    const hello = JSON.stringify({
      run,
      scenario: 'synthetic',
      runId: null,
      transports: ['sse', 'ws'],
      finished: false,
      historyLimit: 8192,
    })
    // Exactly: the reconnection delay first, then hello without an id (a browser's Last-Event-ID
    // stays that of the last frame), then each frame with its id, each event ended by a blank line.
    expect(text.startsWith(`retry: 750\n\nevent: hello\ndata: ${hello}\n\n`)).toBe(true)
    // A heartbeat may fall between two frames on a loaded machine: the events, without them.
    expect(text.replaceAll(': keep-alive\n\n', '')).toContain(
      `id: ${run}-1\nevent: frame\ndata: ${JSON.stringify(dashboardFrame(1))}\n\nid: ${run}-2\nevent: frame\ndata: ${JSON.stringify(dashboardFrame(2))}\n\n`,
    )
  })

  test('a payload with line breaks becomes one data: line each; an id or type with one is refused', () => {
    expect(encodeEvent({ id: 'a-1', event: 'frame', data: 'one\ntwo\r\nthree\rfour' })).toBe(
      'id: a-1\nevent: frame\ndata: one\ndata: two\ndata: three\ndata: four\n\n',
    )
    expect(encodeEvent({ data: '' })).toBe('data: \n\n')
    expect(() => encodeEvent({ id: 'a\n1', data: 'x' })).toThrow(/CR, LF or NUL/)
    expect(() => encodeEvent({ event: 'done\r', data: 'x' })).toThrow(/CR, LF or NUL/)
    expect(() => encodeEvent({ id: 'a\u00001', data: 'x' })).toThrow(/CR, LF or NUL/)
  })

  test('the project’s own SSE parser reads the stream as sent (ids, types, JSON)', async () => {
    const board = await dashboard()
    for (let second = 1; second <= 3; second++) board.publish(dashboardFrame(second))
    const stream = await openSse(`${board.url}events`)
    open.push(stream)
    await waitFor('hello and three frames', () => stream.events.length >= 4, {
      state: () => stream.events.length,
    })
    expect(stream.events.map((event) => event.type)).toEqual(['hello', 'frame', 'frame', 'frame'])
    const frames = stream.events.slice(1)
    expect(frames.map((event) => payload<DashboardFrame>(event).elapsedSec)).toEqual([1, 2, 3])
    const run = payload<{ run: string }>(stream.events[0]!).run
    expect(frames.map((event) => event.lastEventId)).toEqual([`${run}-1`, `${run}-2`, `${run}-3`])
  })
})

describe('history', () => {
  test('a browser that joins late gets the run so far, in order, then the live frames', async () => {
    const board = await dashboard()
    for (let second = 1; second <= 5; second++) board.publish(dashboardFrame(second))
    const late = listen(board.url)
    await waitFor('the five frames so far', () => late.of('frame').length === 5, {
      state: () => late.received.length,
    })
    board.publish(dashboardFrame(6, { transport: 'ws' }))
    await waitFor('the live frame', () => late.of('frame').length === 6)
    const frames = late.of('frame').map((event) => JSON.parse(event.data) as DashboardFrame)
    expect(frames.map((one) => one.elapsedSec)).toEqual([1, 2, 3, 4, 5, 6])
    expect(frames.at(-1)!.transport).toBe('ws')
    expect(late.of('hello')).toHaveLength(1)
    expect(late.of('reset')).toHaveLength(0)
  })

  test('a reconnect sends Last-Event-ID and gets only what it missed: no gap, no duplicate', async () => {
    const board = await dashboard({ retryMs: 20 })
    board.publish(dashboardFrame(1))
    board.publish(dashboardFrame(2))
    const client = listen(board.url)
    await waitFor('two frames', () => client.of('frame').length === 2)
    const lastId = client.of('frame')[1]!.id
    client.drop()
    // Published while the client is away: it must get these from the history.
    board.publish(dashboardFrame(3))
    board.publish(dashboardFrame(4))
    await waitFor('the reconnect', () => client.requests.length === 2)
    expect(client.requests[1]!.get('last-event-id')).toBe(lastId)
    await waitFor('the missed frames', () => client.of('frame').length === 4, {
      state: () => client.received.map((event) => `${event.type} ${event.id}`),
    })
    board.publish(dashboardFrame(5))
    await waitFor('the next live frame', () => client.of('frame').length === 5)
    const seconds = client
      .of('frame')
      .map((event) => (JSON.parse(event.data) as DashboardFrame).elapsedSec)
    expect(seconds).toEqual([1, 2, 3, 4, 5])
    expect(client.of('reset')).toHaveLength(0)
    expect(client.of('hello')).toHaveLength(2)
  })

  test('bounded: the oldest go first; a resume point older than the history, or of another run, gets reset and all kept', async () => {
    const board = await dashboard({ maxEvents: 3 })
    for (let second = 1; second <= 5; second++) board.publish(dashboardFrame(second))
    expect(board.stats()).toMatchObject({ events: 3, evicted: 2 })
    const late = await openSse(`${board.url}events`)
    open.push(late)
    await waitFor('the three kept', () => late.events.length >= 4)
    const run = payload<{ run: string }>(late.events[0]!).run
    expect(late.events.slice(1).map((event) => event.lastEventId)).toEqual([
      `${run}-3`,
      `${run}-4`,
      `${run}-5`,
    ])
    for (const stale of [`${run}-1`, 'otherrun-4', 'garbage']) {
      const resumed = await openSse(`${board.url}events`, { headers: { 'last-event-id': stale } })
      open.push(resumed)
      await waitFor(`the reset and the kept frames for ${stale}`, () => resumed.events.length >= 5)
      expect(resumed.events.map((event) => event.type)).toEqual([
        'hello',
        'reset',
        'frame',
        'frame',
        'frame',
      ])
    }
    // The seam exactly: after the oldest kept one, nothing is repeated.
    const resumed = await openSse(`${board.url}events`, {
      headers: { 'last-event-id': `${run}-3` },
    })
    open.push(resumed)
    await waitFor('the two after it', () => resumed.events.length >= 3)
    expect(resumed.events.map((event) => event.lastEventId)).toEqual(['', `${run}-4`, `${run}-5`])
  })

  test('the history ring itself: sizes, eviction, ids of the future are another run', () => {
    const history = createEventHistory(2, 'r1')
    expect(history.since(undefined)).toEqual({ reset: true, events: [] })
    history.append('frame', '{}')
    expect(history.since('r1-1')).toEqual({ reset: false, events: [] })
    history.append('frame', '{}')
    history.append('frame', '{}')
    expect(history.size).toBe(2)
    expect(history.evicted).toBe(1)
    expect(history.since('r1-1').events.map((event) => event.seq)).toEqual([2, 3])
    expect(history.since('r1-1').reset).toBe(false)
    expect(history.since('r1-9')).toMatchObject({ reset: true })
    expect(() => createEventHistory(0, 'r')).toThrow(RangeError)
  })
})

describe('the listener', () => {
  test('binds 127.0.0.1 only and answers only a loopback Host', async () => {
    const board = await dashboard()
    expect(board.url).toBe(`http://127.0.0.1:${board.port}/`)
    // Another address of this host (when it has one) and IPv6 loopback refuse the connection.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address !== undefined && !address.internal)
      .map((address) => address!.address)
    for (const host of [...others.slice(0, 2), '::1']) {
      const refused = await new Promise<string>((resolve) => {
        const socket = connect({ host, port: board.port })
        socket.once('connect', () => {
          socket.destroy()
          resolve('connected')
        })
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'))
      })
      expect(refused, host).not.toBe('connected')
    }
    // DNS rebinding: the right socket, a foreign name.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: board.port, path: '/events', headers: { host: 'evil.test' } },
        (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        },
      )
      req.once('error', reject)
      req.end()
    })
    expect(status).toBe(421)
    const local = await fetch(`http://localhost:${board.port}/`).catch(() => null)
    // localhost may resolve to ::1 first on some hosts; when it reaches us it is answered.
    if (local !== null) expect(local.status).toBe(200)
  })

  test('a port in use fails with TS_ERR_LISTEN_FAILED; a bad port with TS_ERR_INVALID_OPTIONS', async () => {
    const board = await dashboard()
    await expect(
      startDashboard({ port: board.port, scenario: 'x', transports: [] }),
    ).rejects.toMatchObject({ code: ERROR_CODES.LISTEN_FAILED, message: /EADDRINUSE/ })
    await expect(
      startDashboard({ port: 70_000, scenario: 'x', transports: [] }),
    ).rejects.toMatchObject({ code: ERROR_CODES.INVALID_OPTIONS, message: /`port` .*70000/ })
    await expect(
      startDashboard({ port: 0, scenario: 'x', transports: [], maxClients: 0, retryMs: 1.5 }),
    ).rejects.toMatchObject({ message: /maxClients[\s\S]*retryMs/ })
  })

  test('past maxClients a browser is told to come back later (200, retry:, end), never an error status', async () => {
    const board = await dashboard({ maxClients: 1 })
    const first = await openSse(`${board.url}events`)
    open.push(first)
    await waitFor('the first stream', () => board.stats().clients === 1)
    const second = await openSse(`${board.url}events`)
    expect(second.status).toBe(200)
    await second.ended
    expect(second.retries).toEqual([5000])
    expect(second.events).toEqual([])
    expect(board.stats()).toMatchObject({ clients: 1, turnedAway: 1 })
  })

  test('a browser that stops reading is cut past maxBufferedBytes, and the others go on', async () => {
    const board = await dashboard({ maxBufferedBytes: 256 * 1024 })
    const reader = listen(board.url)
    await waitFor('the reading client', () => reader.of('hello').length === 1)
    // A raw client that asks for the stream and then reads nothing: the kernel's buffers fill,
    // then the server's own, then the budget is passed.
    const stalled = connect({ host: '127.0.0.1', port: board.port })
    open.push({ close: () => stalled.destroy() })
    stalled.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${board.port}\r\n\r\n`)
    stalled.pause()
    await waitFor('both streams', () => board.stats().clients === 2)
    const big = dashboardFrame(1, { transport: 'ws' })
    let published = 0
    // Bounded: 45 MB at most, far past any loopback socket's buffers.
    while (board.stats().cutSlow === 0 && published < 100_000) {
      board.publish(big)
      published++
      // Let the event loop move the bytes now and then, as seconds between frames would.
      if (published % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    expect(board.stats(), `after ${published} frames`).toMatchObject({ cutSlow: 1, clients: 1 })
    // The reading one got every frame (it resumes nothing: it was never behind).
    await waitFor('every frame at the reader', () => reader.of('frame').length === published, {
      timeoutMs: 20_000,
      state: () => reader.of('frame').length,
    })
  })

  test('the page: the built one when there is one, else a page that says to build it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tickstorm-dashboard-page-'))
    try {
      await writeFile(join(root, 'index.html'), '<!doctype html><title>built</title>')
      await writeFile(join(root, 'dashboard.js'), 'console.log(1)')
      const built = await dashboard({ pageRoot: root })
      const page = await fetch(built.url)
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(await page.text()).toContain('<title>built</title>')
      const script = await fetch(`${built.url}dashboard.js`)
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
      expect((await fetch(`${built.url}nothing.js`)).status).toBe(404)
      expect((await fetch(`${built.url}events`, { method: 'POST' })).status).toBe(405)
      const unbuilt = await dashboard({ pageRoot: null })
      expect(await (await fetch(unbuilt.url)).text()).toContain('npm run build')
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})

describe('the end of the run', () => {
  test('hello names the runId result.json will hold, when the run gave one', async () => {
    const runId = '8d7f6f0e-3b0c-4d47-9a55-1f4a2c9b6e01'
    const named = listen((await dashboard({ runId })).url)
    const unnamed = listen((await dashboard()).url)
    await waitFor('both hellos', () => named.of('hello').length + unnamed.of('hello').length === 2)
    expect(JSON.parse(named.of('hello')[0]!.data).runId).toBe(runId)
    expect(JSON.parse(unnamed.of('hello')[0]!.data).runId).toBeNull()
  })

  test('done carries the verdict and the link; report.html is served from then on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tickstorm-dashboard-done-'))
    try {
      const reportPath = join(dir, 'report.html')
      await writeFile(reportPath, '<!doctype html><title>the report</title>')
      const board = await dashboard()
      board.publish(dashboardFrame(1))
      const client = listen(board.url)
      await waitFor('the frame', () => client.of('frame').length === 1)
      expect((await fetch(`${board.url}report.html`)).status).toBe(404)
      board.finish({
        label: 'FAILED',
        reasons: ['sse p99 412.0 ms > 100 ms'],
        resultDir: dir,
        reportPath,
      })
      await waitFor('done', () => client.of('done').length === 1)
      expect(JSON.parse(client.of('done')[0]!.data)).toEqual({
        label: 'FAILED',
        passed: false,
        reasons: ['sse p99 412.0 ms > 100 ms'],
        resultDir: dir,
        report: '/report.html',
      })
      const report = await fetch(`${board.url}report.html`)
      expect(report.status).toBe(200)
      expect(report.headers.get('content-type')).toBe('text/html; charset=utf-8')
      expect(await report.text()).toContain('<title>the report</title>')
      // A browser that opens the page after the run sees the whole run and the verdict.
      const after = listen(board.url)
      await waitFor('the finished run', () => after.of('done').length === 1)
      expect(after.of('frame')).toHaveLength(1)
      expect(JSON.parse(after.of('hello')[0]!.data).finished).toBe(true)
      // close() ends the streams cleanly (the client sees the end, not a hang) and stops listening.
      const stream = await openSse(`${board.url}events`)
      await board.close()
      dashboards.splice(dashboards.indexOf(board), 1)
      await stream.ended
      expect(stream.failure()).toBeUndefined()
      await expect(fetch(board.url)).rejects.toThrow()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('frames from progress reports', () => {
  function live(overrides: Partial<LiveWindow> = {}): LiveWindow {
    const latency = emptyHistogram()
    for (const us of [1000, 2000, 3000, 4000, 100_000]) latency.recordValue(us)
    const counters = { ...emptyCounters(), deliveries: 500, errors: 2, reconnects: 3, gaps: 1 }
    return {
      measuring: true,
      startMs: 0,
      sec: 5,
      latencyUs: latency,
      connectTimeUs: emptyHistogram(),
      recoveryUs: emptyHistogram(),
      counters: { ...counters, deliveries: 5000, errors: 7, reconnects: 9 },
      lastLatencyUs: latency,
      lastCounters: counters,
      lastSec: 0.5,
      ...overrides,
    }
  }
  const sample = (overrides: Partial<DashboardSample> = {}): DashboardSample => ({
    transport: 'sse',
    elapsedSec: 3.5,
    totalSec: 10,
    warmingUp: false,
    connected: 40,
    subscribers: 50,
    deliveriesPerSec: 123,
    errors: 4,
    ...overrides,
  })

  test('a live window becomes per-second figures in ms, last span and cumulative', () => {
    const framer = createFramer()
    const made = framer(
      sample({ live: live(), harness: { eventLoopDelayP99Us: 12_345, cpuPercent: 87.26 } }),
      1000,
    )
    expect(made).toMatchObject({
      transport: 'sse',
      t: 1000,
      measuring: true,
      connected: 40,
      subscribers: 50,
      // 500 in half a second.
      deliveriesPerSec: 1000,
      errors: 2,
      reconnects: 3,
      gaps: 1,
      deliveriesTotal: 5000,
      errorsTotal: 7,
      reconnectsTotal: 9,
      harness: { eventLoopP99Ms: 12.345, cpuPercent: 87.3 },
    })
    expect(made!.last!.p50).toBeCloseTo(3, 1)
    expect(made!.last!.p99).toBeCloseTo(100, 0)
    expect(made!.last!.max).toBeCloseTo(100, 0)
    expect(made!.cumulative).toEqual(made!.last)
    const empty = framer(sample({ live: live({ lastLatencyUs: emptyHistogram() }) }), 2000)
    expect(empty!.last).toBeNull()
  })

  test('reports without a live window: dropped for a transport that has one, else one a second after a grace', () => {
    const framer = createFramer()
    // sse: its first report (the ramp's start) has no window yet; then windows, then the ramp's
    // bare quarter-second reports are dropped.
    expect(framer(sample(), 0)).toBeNull()
    expect(framer(sample({ live: live() }), 1000)).not.toBeNull()
    expect(framer(sample(), 3500)).toBeNull()
    // http never has a window: after the grace, a bare frame at most once a second.
    const http = sample({ transport: 'http' })
    expect(framer(http, 10_000)).toBeNull()
    expect(framer(http, 11_000)).toBeNull()
    const bare = framer(http, 12_000)
    expect(bare).toMatchObject({ transport: 'http', deliveriesPerSec: 123, errorsTotal: 4 })
    expect(bare!.last).toBeNull()
    expect(bare!.harness).toBeNull()
    expect(framer(http, 12_500)).toBeNull()
    expect(framer(http, 13_000)).not.toBeNull()
  })

  test('push frames a sample and sends it', async () => {
    const board = await dashboard()
    const client = listen(board.url)
    await waitFor('hello', () => client.of('hello').length === 1)
    expect(board.push(sample({ live: live() }), 5000)).not.toBeNull()
    expect(board.push(sample(), 5250)).toBeNull()
    await waitFor('the frame', () => client.of('frame').length === 1)
    expect(JSON.parse(client.of('frame')[0]!.data)).toMatchObject({
      t: 5000,
      deliveriesPerSec: 1000,
    })
  })
})
