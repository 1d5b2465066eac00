import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { TickstormServer } from '../../src/server/server.js'
import { startServer } from '../helpers/server.js'
import { type Browser, launchBrowser } from './browser.js'
import { type PageState, price, readPage, waitForPage } from './page-state.js'

/**
 * The live ticker page, end to end: the built page (dist/web) served by a real server, driven in
 * Debian's headless Chromium. Every figure asserted is read from the page as a person sees it;
 * the server's own counters confirm what the page claims (one stream, a resume from the ring).
 */
/**
 * Screenshots go to a temporary directory, so a test run never rewrites a tracked file. The
 * README's picture is refreshed on purpose, from the transport-switch test at 1400 px:
 * `TICKSTORM_UPDATE_SCREENSHOT=1 npx vitest run test/web/page.test.ts -t 'transport switch'`.
 */
const README_SCREENSHOT = fileURLToPath(new URL('../../results/ticker-page.png', import.meta.url))
const UPDATE_README_SCREENSHOT = process.env['TICKSTORM_UPDATE_SCREENSHOT'] === '1'
/** A desktop window, and the common phone width (iPhone 12 to 15). */
const WIDE = { width: 1400, height: 960 }
const PHONE = { width: 390, height: 844 }

let browser: Browser
let shots: string

beforeAll(async () => {
  browser = await launchBrowser()
  shots = mkdtempSync(join(tmpdir(), 'tickstorm-page-shots-'))
})

afterAll(async () => {
  await browser?.close()
  if (shots !== undefined) rmSync(shots, { recursive: true, force: true })
})

/** A full-page screenshot in the temporary directory; returns its path and pixel size. */
async function screenshot(page: Page, name: string) {
  const path = join(shots, name)
  await page.screenshot({ path, fullPage: true })
  // PNG: the IHDR chunk's width and height, big-endian, at bytes 16 and 20.
  const png = readFileSync(path)
  return { path, width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

/** A short `retry:` so EventSource comes back at once after a drop. */
const serve = (retryMs = 100) => startServer({ retryMs })

async function openPage(server: TickstormServer, path = '/', viewport = WIDE) {
  const { page, errors } = await browser.newPage()
  await page.setViewportSize(viewport)
  await page.goto(`${server.url}${path}`)
  return { page, errors }
}

const isOpenWith = (transport: string, events: number) => (state: PageState) =>
  state.state === 'open' && state.transport === transport && state.events >= events

/** Gaps, duplicates and resets: the continuity the page proves, all zero. */
const continuity = (state: PageState) => ({
  gaps: state.gaps,
  duplicates: state.duplicates,
  resets: state.resets,
})
const CONTINUOUS = { gaps: 0, duplicates: 0, resets: 0 }

async function defaultWatchList(server: TickstormServer): Promise<string[]> {
  const response = await fetch(`${server.url}/v1/symbols`)
  const body = (await response.json()) as { symbols: { symbol: string }[] }
  return body.symbols.slice(0, 8).map((entry) => entry.symbol)
}

/** The `retry:` of the drop test, and so (within a few ms) the outage a drop causes there. */
const OUTAGE_MS = 1500

interface Layout {
  readonly scrollWidth: number
  readonly innerWidth: number
  readonly priceCells: readonly { what: string; left: number; right: number }[]
  readonly columns: readonly { column: string; grid: string; sub: string; subLeft: number }[]
  readonly log: {
    scrollWidth: number
    clientWidth: number
    cardRight: number
    messages: readonly { text: string; right: number; scrollWidth: number; clientWidth: number }[]
  }
}

// A string, as in page-state.ts: it runs in the page.
const MEASURE_LAYOUT = `(() => {
  const priceCells = []
  const columns = []
  for (const tr of document.querySelectorAll('#quotes tr')) {
    for (const column of ['last', 'bid', 'ask']) {
      const price = tr.querySelector('td.' + column + ' .price')
      const rect = price.getBoundingClientRect()
      const what = tr.dataset.symbol + ' ' + column
      priceCells.push({ what, left: rect.left, right: rect.right })
      const sub = price.querySelector('.sub')
      columns.push({
        column,
        grid: price.firstChild.data,
        sub: sub.textContent,
        subLeft: sub.getBoundingClientRect().left,
      })
    }
  }
  const log = document.getElementById('log')
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    priceCells,
    columns,
    log: {
      scrollWidth: log.scrollWidth,
      clientWidth: log.clientWidth,
      cardRight: log.closest('.card').getBoundingClientRect().right,
      messages: [...log.querySelectorAll('.message')].map((node) => ({
        text: node.textContent,
        right: node.getBoundingClientRect().right,
        scrollWidth: node.scrollWidth,
        clientWidth: node.clientWidth,
      })),
    },
  }
})()`

const closePages = (...pages: Page[]) => Promise.all(pages.map((page) => page.close()))

describe('the live ticker page', () => {
  test('loads over SSE, one stream for the watch-list, and prices update with live latency', async () => {
    const server = await serve()
    const { page, errors } = await openPage(server)
    const first = await waitForPage(page, 'an open SSE stream', isOpenWith('sse', 100))

    expect(first.stateText).toContain('EventSource readyState 1 · OPEN')
    expect(Object.keys(first.rows)).toEqual(await defaultWatchList(server))
    // One EventSource for the whole watch-list, not one per symbol.
    expect(server.stats().sse.connections).toBe(1)
    for (const [symbol, row] of Object.entries(first.rows)) {
      expect(price(row.bid), `${symbol} bid`).toBeGreaterThan(0)
      expect(price(row.ask), `${symbol} ask`).toBeGreaterThan(price(row.bid))
    }

    // Prices move: some cell of the table changes while a few hundred more events arrive.
    const later = await waitForPage(
      page,
      'a price in the table to change',
      (state) =>
        state.events >= first.events + 300 &&
        Object.entries(state.rows).some(
          ([symbol, row]) => JSON.stringify(row) !== JSON.stringify(first.rows[symbol]),
        ),
    )
    expect(later.ratePerSec).toBeGreaterThan(0)
    // Same machine, same clock: end-to-end latency is real and small (not NaN, not negative).
    expect(later.latencyP50Us).toBeGreaterThan(0)
    expect(later.latencyP50Us).toBeLessThan(1_000_000)
    expect(Number(later.lastId)).toBeLessThanOrEqual(server.feed.headSeq)
    expect(continuity(later)).toEqual(CONTINUOUS)
    // The big chart, the latency chart and a sparkline per row are uPlot canvases.
    expect(await page.locator('#chart canvas').count()).toBe(1)
    expect(await page.locator('#latency-chart canvas').count()).toBe(1)
    expect(await page.locator('#quotes .spark canvas').count()).toBe(8)
    expect(errors).toEqual([])
    await closePages(page)
  })

  test('drop connection: EventSource reconnects with Last-Event-ID, the server replays, no gap', async () => {
    // A `retry:` of 1.5 s: an outage long enough to tell the replayed events from live ones.
    const server = await serve(OUTAGE_MS)
    const { page, errors } = await openPage(server)
    const before = await waitForPage(page, 'an open SSE stream', isOpenWith('sse', 100))
    const replayHits = server.stats().sse.replayHits

    await page.click('#drop')
    const resumed = await waitForPage(
      page,
      'a reconnect and a resume',
      (state) => state.reconnects === 1 && state.state === 'open' && state.resumedFrom !== '',
    )
    // The page saw EventSource go CONNECTING again, then OPEN, resuming after the last id it had.
    const after = resumed.log.slice(resumed.log.findIndex((entry) => entry.kind === 'drop'))
    expect(after.map((entry) => entry.state).filter((state) => state !== '')).toEqual([
      'reconnecting',
      'open',
    ])
    expect(after.some((entry) => /the server cut 1 connection/.test(entry.text))).toBe(true)
    const resumeLine = resumed.log.find((entry) => entry.kind === 'resume')
    expect(resumeLine?.text).toContain(`Last-Event-ID: ${resumed.resumedFrom}`)
    expect(Number(resumed.resumedFrom)).toBeGreaterThanOrEqual(Number(before.lastId))
    // …and the server served that resume from its ring: a replay, not a fresh snapshot.
    expect(server.stats().sse.replayHits).toBe(replayHits + 1)
    expect(server.stats().sse.connections).toBe(1)

    // Events keep flowing past the seam, and not one is missing or repeated.
    const flowing = await waitForPage(
      page,
      'events after the resume',
      (state) => state.events >= resumed.events + 300,
    )
    expect(Number(flowing.lastId)).toBeGreaterThan(Number(resumed.resumedFrom))
    expect(continuity(flowing)).toEqual(CONTINUOUS)
    expect(flowing.reconnects).toBe(1)

    // The replay is late by the outage; the log says so, and the latency tile, which names its
    // window, leaves it out: its p99 is the live stream's, not the 1.5 s of the drop.
    const catchUp = flowing.log.find((entry) => entry.kind === 'catchup')
    const [, replayed, oldestMs] =
      /^caught up: ([\d,]+) replayed events, the oldest ([\d,.]+)\u00a0ms late/.exec(
        catchUp?.text ?? '',
      ) ?? []
    expect(Number(replayed?.replaceAll(',', ''))).toBeGreaterThan(0)
    expect(Number(oldestMs?.replaceAll(',', ''))).toBeGreaterThanOrEqual(OUTAGE_MS * 0.9)
    expect(flowing.latencyDetail).toMatch(/^p99 [\d,.]+\u00a0ms · last 5\u00a0s$/)
    expect(flowing.latencyP99Us).toBeGreaterThan(0)
    expect(flowing.latencyP99Us).toBeLessThan((OUTAGE_MS / 2) * 1000)
    expect(errors).toEqual([])
    await closePages(page)
  })

  test('the transport switch: SSE → long polling → WebSocket (dropped, resumed) → SSE, one stream of events', async () => {
    const server = await serve()
    const { page, errors } = await openPage(server)
    // Each leg runs long enough to put a few points on the latency chart, in its own colour.
    const leg =
      (transport: 'sse' | 'longpoll' | 'ws', from: PageState | null) => (now: PageState) =>
        isOpenWith(transport, (from?.events ?? 0) + 500)(now) &&
        now.latencyPoints[transport] >= (from?.latencyPoints[transport] ?? 0) + 3
    let state = await waitForPage(page, 'an open SSE stream', leg('sse', null))

    await page.click('[data-transport=longpoll]')
    state = await waitForPage(page, 'events over long polling', leg('longpoll', state))
    expect(server.stats().sse.connections).toBe(0)
    expect(server.stats().longpoll.answered).toBeGreaterThan(0)
    expect(continuity(state)).toEqual(CONTINUOUS)

    await page.click('[data-transport=ws]')
    state = await waitForPage(page, 'events over WebSocket', leg('ws', state))
    expect(server.stats().ws.connections).toBe(1)
    expect(continuity(state)).toEqual(CONTINUOUS)

    // The WebSocket reconnects in page code, the way EventSource does by itself.
    const beforeDrop = state
    await page.click('#drop')
    state = await waitForPage(
      page,
      'a WebSocket resume',
      (now) =>
        now.reconnects === 1 && now.state === 'open' && now.events >= beforeDrop.events + 300,
    )
    const wsResume = state.log.filter((entry) => entry.kind === 'resume').at(-1)
    expect(wsResume?.text).toMatch(/^subscribed with lastEventId \d+; the server replayed the gap$/)

    await page.click('[data-transport=sse]')
    state = await waitForPage(page, 'events over SSE again', leg('sse', state))
    expect(server.stats().ws.connections).toBe(0)
    expect(server.stats().sse.connections).toBe(1)
    // Every switch resumed by id (the three transports share one sequence): one continuous
    // stream, no snapshot in between, not one event lost or repeated.
    expect(continuity(state)).toEqual(CONTINUOUS)
    const switches = state.log.filter((entry) => entry.kind === 'switch')
    expect(switches.map((entry) => entry.text.split(',')[0])).toEqual([
      'switched to Long polling',
      'switched to WebSocket',
      'switched to SSE',
    ])
    expect(switches.at(-1)?.text).toBe(`switched to SSE, resuming after id ${state.resumedFrom}`)
    expect(errors).toEqual([])

    // The picture in the README: after a tour of the three transports, back on SSE.
    const shot = await screenshot(page, 'ticker-page.png')
    expect(shot.width).toBe(WIDE.width)
    if (UPDATE_README_SCREENSHOT) copyFileSync(shot.path, README_SCREENSHOT)
    await closePages(page)
  })

  test('two tabs: one stream each, and a drop cuts only the tab that asked', async () => {
    const server = await serve()
    const a = await openPage(server)
    await waitForPage(a.page, 'tab A open', isOpenWith('sse', 100))
    const b = await openPage(server)
    await waitForPage(b.page, 'tab B open', isOpenWith('sse', 100))
    expect(server.stats().sse.connections).toBe(2)

    // Back to tab A, as a person would, to press its button (a background tab's frames are
    // throttled; its stream is not).
    await a.page.bringToFront()
    const beforeB = await readPage(b.page)
    await a.page.click('#drop')
    const resumedA = await waitForPage(
      a.page,
      'tab A resumed',
      (state) => state.reconnects === 1 && state.state === 'open',
    )
    const [endA, endB] = await Promise.all([
      waitForPage(a.page, 'tab A flowing', (state) => state.events >= resumedA.events + 300),
      waitForPage(b.page, 'tab B flowing', (state) => state.events >= beforeB.events + 300),
    ])
    expect(endB.reconnects).toBe(0)
    expect(continuity(endA)).toEqual(CONTINUOUS)
    expect(continuity(endB)).toEqual(CONTINUOUS)
    expect(server.stats().sse.connections).toBe(2)
    expect([...a.errors, ...b.errors]).toEqual([])
    await closePages(a.page, b.page)
  })

  test('the watch-list: add and remove symbols, one new stream each time, remembered by the browser', async () => {
    const server = await serve()
    const { page, errors } = await openPage(server)
    await waitForPage(page, 'an open SSE stream', isOpenWith('sse', 50))
    const universe = await (await fetch(`${server.url}/v1/symbols`)).json()
    const extra = (universe as { symbols: { symbol: string }[] }).symbols[12]!.symbol

    await page.fill('#add-symbol input', extra)
    await page.press('#add-symbol input', 'Enter')
    let state = await waitForPage(
      page,
      `${extra} quoted`,
      (now) => now.state === 'open' && price(now.rows[extra]?.bid ?? '') > 0,
    )
    expect(Object.keys(state.rows)).toHaveLength(9)
    expect(await page.textContent('#chart-symbol')).toBe(extra)

    await page.hover(`#quotes tr[data-symbol=${Object.keys(state.rows)[0]}]`)
    await page.click(`#quotes tr[data-symbol=${Object.keys(state.rows)[0]}] button`)
    state = await waitForPage(page, 'a row removed', (now) => Object.keys(now.rows).length === 8)
    await waitForPage(page, 'the stream back', (now) => now.state === 'open')
    expect(server.stats().sse.connections).toBe(1)

    // A new tab of the same origin starts with the list this one left (localStorage).
    const other = await openPage(server)
    const fresh = await waitForPage(other.page, 'a new tab open', isOpenWith('sse', 10))
    expect(Object.keys(fresh.rows)).toEqual(Object.keys(state.rows))
    expect([...errors, ...other.errors]).toEqual([])
    await closePages(page, other.page)
  })

  test('on a 390 px phone: no sideways scroll, every price on screen, the log wraps in its card, one number of decimals per column', async () => {
    const server = await serve()
    const { page, errors } = await openPage(server, '/', PHONE)
    await waitForPage(page, 'an open SSE stream', isOpenWith('sse', 100))
    // A drop puts the long lines in the log (a catch-up, a reconnect with its Last-Event-ID).
    await page.click('#drop')
    await waitForPage(page, 'a resume and its catch-up', (state) =>
      state.log.some((entry) => entry.kind === 'catchup'),
    )
    // An off-exchange print at a half penny: about one trade in eight, so one soon shows. The
    // layout is measured in the same turn that sees it: the next trade may replace it.
    const layout = (await (
      await page.waitForFunction(
        `[...document.querySelectorAll('#quotes td.last .sub')].some((node) => node.textContent) && ${MEASURE_LAYOUT}`,
        null,
        { timeout: 15_000 },
      )
    ).jsonValue()) as Layout

    expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth)
    expect(layout.priceCells).toHaveLength(8 * 3)
    for (const cell of layout.priceCells) {
      expect(cell.left, `${cell.what} left edge`).toBeGreaterThanOrEqual(0)
      expect(cell.right, `${cell.what} right edge`).toBeLessThanOrEqual(layout.innerWidth)
    }
    // The log wraps its lines inside the card: nothing runs past it, nothing to scroll sideways.
    expect(layout.log.scrollWidth).toBeLessThanOrEqual(layout.log.clientWidth)
    expect(layout.log.messages.length).toBeGreaterThanOrEqual(6)
    for (const message of layout.log.messages) {
      expect(message.right, message.text).toBeLessThanOrEqual(layout.log.cardRight)
      expect(message.scrollWidth, message.text).toBeLessThanOrEqual(message.clientWidth)
    }

    // These symbols trade above $1 on the $0.01 grid: every price shows two decimals, and a
    // half-penny print its third digit apart, in a slot every row keeps (decimal points align).
    const symbols = (await (await fetch(`${server.url}/v1/symbols`)).json()) as {
      symbols: { symbol: string; tickSize: number }[]
    }
    expect(symbols.symbols.slice(0, 8).map((entry) => entry.tickSize)).toEqual(Array(8).fill(0.01))
    for (const column of ['last', 'bid', 'ask']) {
      const cells = layout.columns.filter((cell) => cell.column === column)
      for (const cell of cells) expect(cell.grid, `${column} ${cell.grid}`).toMatch(/^\d+\.\d\d$/)
      // Within half a pixel: a "5" is a hair wider than the "0" that sizes the empty slot.
      const lefts = cells.map((cell) => cell.subLeft)
      expect(Math.max(...lefts) - Math.min(...lefts), `${column} decimal points`).toBeLessThan(0.5)
    }
    const subTicks = layout.columns.filter((cell) => cell.column === 'last' && cell.sub !== '')
    expect(subTicks.length).toBeGreaterThan(0)
    for (const cell of subTicks) expect(cell.sub).toBe('5')
    for (const cell of layout.columns.filter((cell) => cell.column !== 'last')) {
      expect(cell.sub, `${cell.column}: quotes sit on the grid`).toBe('')
    }

    const shot = await screenshot(page, 'ticker-page-390.png')
    expect(shot.width).toBe(PHONE.width)
    expect(errors).toEqual([])
    await closePages(page)
  })
})
