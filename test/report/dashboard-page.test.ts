import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { DashboardFrame } from '../../src/report/dashboard/frame.js'
import { type Dashboard, startDashboard } from '../../src/report/dashboard/server.js'
import { tickstorm } from '../helpers/cli.js'
import { dashboardFrame } from '../helpers/dashboard-frame.js'
import { waitFor } from '../helpers/wait.js'
import { type Browser, launchBrowser } from '../web/browser.js'

/**
 * The run dashboard in Debian's headless Chromium, during a real `tickstorm run --dashboard 0`:
 * the page opened as soon as the URL is printed, its charts filling with the run's seconds, and
 * at the end the verdict and the link to report.html, kept on screen after the run's process
 * (and the dashboard with it) is gone.
 *
 * The screenshot goes to a temporary directory, so a test run never rewrites a tracked file; the
 * committed one is refreshed on purpose:
 * `TICKSTORM_UPDATE_SCREENSHOT=1 npx vitest run test/report/dashboard-page.test.ts`.
 */
const COMMITTED_SCREENSHOT = fileURLToPath(
  new URL('../../results/dashboard/dashboard.png', import.meta.url),
)
const UPDATE_SCREENSHOT = process.env['TICKSTORM_UPDATE_SCREENSHOT'] === '1'

const SCENARIO = `name: dashboard-page
description: a small run watched in Chromium
target: embedded
server: { preset: normal, seed: 7 }
transports: [sse, ws]
subscribers: { count: 30, rampPerSec: 300, watchList: { size: 8, pick: zipf } }
warmupSec: 1
durationSec: 5
workers: 1
thresholds: { p99Ms: 5000 }
`

/** What the page shows, read from its DOM (a string: page.evaluate would ship transpiled code). */
const READ_PAGE = `(() => {
  const body = document.body.dataset
  const points = {}
  for (const chart of document.querySelectorAll('[data-chart]')) {
    points[chart.dataset.chart] = Number(chart.dataset.points)
  }
  const rows = {}
  for (const row of document.querySelectorAll('#transport-rows tr')) {
    rows[row.dataset.transport] = [...row.children].map((cell) => cell.textContent)
  }
  return {
    state: body.state,
    frames: Number(body.frames),
    deliveries: Number(body.deliveries),
    verdict: body.verdict,
    status: document.getElementById('status').textContent.replace(/\\s+/g, ' ').trim(),
    tileDeliveries: document.getElementById('tile-deliveries').textContent,
    verdictLabel: document.getElementById('verdict-label').textContent,
    verdictShown: !document.getElementById('verdict').hidden,
    reasons: [...document.querySelectorAll('#verdict-reasons li')].map((li) => li.textContent),
    reportHref: document.getElementById('report-link').getAttribute('href'),
    canvases: document.querySelectorAll('#charts canvas').length,
    points,
    rows,
  }
})()`

/** Live, a nonzero deliveries figure, and points on the latency and deliveries charts. */
const LIVE_WITH_DATA = `(() => {
  const points = (id) => Number(document.querySelector('[data-chart="' + id + '"]')?.dataset.points ?? 0)
  const body = document.body.dataset
  return body.state === 'live' && Number(body.deliveries) > 0 && points('latency') >= 2 &&
    points('deliveries') >= 2
})()`

interface DashboardPage {
  state: string
  frames: number
  deliveries: number
  verdict: string
  status: string
  tileDeliveries: string
  verdictLabel: string
  verdictShown: boolean
  reasons: string[]
  reportHref: string | null
  canvases: number
  points: Record<string, number>
  rows: Record<string, string[]>
}

let browser: Browser
let dir: string

beforeAll(async () => {
  browser = await launchBrowser()
  dir = mkdtempSync(join(tmpdir(), 'tickstorm-dashboard-page-'))
})

afterAll(async () => {
  await browser?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe('the run dashboard in Chromium', () => {
  test('charts fill during the run; the verdict and report link stay after it', async () => {
    const file = join(dir, 'scenario.yaml')
    writeFileSync(file, SCENARIO)
    const run = tickstorm(['run', file, '--dashboard', '0', '--results', join(dir, 'results')])
    await waitFor('the dashboard URL', () => /dashboard: http:\/\//.test(run.stdout()), {
      timeoutMs: 20_000,
      state: () => run.stderr(),
    })
    const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.stdout())![1]!
    const { page, errors } = await browser.newPage()
    await page.setViewportSize({ width: 1400, height: 900 })
    await page.goto(url)
    const read = async () => (await page.evaluate(READ_PAGE)) as DashboardPage

    // During the run: live, with charts that have points and a nonzero deliveries figure.
    await page
      .waitForFunction(LIVE_WITH_DATA, undefined, { timeout: 40_000, polling: 100 })
      .catch(async (error: unknown) => {
        throw new Error(`the page never showed live data: ${JSON.stringify(await read())}`, {
          cause: error,
        })
      })
    const live = await read()
    expect(live.canvases).toBe(5)
    expect(live.status).toMatch(/^Live /)
    expect(live.verdictShown).toBe(false)
    expect(Number(live.tileDeliveries.replaceAll(',', ''))).toBeGreaterThan(0)

    // The end: the verdict, the link, and the whole run still on the charts.
    await page.waitForFunction('document.body.dataset.state === "done"', undefined, {
      timeout: 60_000,
    })
    // On a busy machine the harness itself may be judged saturated (exit 3, the run invalid):
    // whatever the verdict, the page shows the one the CLI printed.
    const code = await run.exit
    const printed = /^(PASSED|FAILED|INTERRUPTED)\b/m.exec(run.stdout())?.[1]
    expect(printed, run.stdout()).toBe(code === 0 ? 'PASSED' : 'FAILED')
    const end = await read()
    expect(end.verdict).toBe(printed)
    expect(end.verdictShown).toBe(true)
    expect(end.verdictLabel).toBe(printed)
    // Only the harness's own saturation may fail this tiny run, and the page lists it.
    if (printed === 'FAILED') {
      expect(end.reasons.length).toBeGreaterThan(0)
      for (const reason of end.reasons) expect(reason).toMatch(/invalid \(the harness/)
    } else expect(end.reasons).toEqual([])
    expect(end.reportHref).toBe('/report.html')
    expect(end.status).toMatch(/^Finished /)
    expect(end.frames).toBeGreaterThanOrEqual(8)
    for (const chart of ['connected', 'deliveries', 'latency', 'faults', 'harness']) {
      expect(end.points[chart], chart).toBeGreaterThanOrEqual(8)
    }
    for (const transport of ['sse', 'ws']) {
      const row = end.rows[transport]
      expect(row, transport).toBeDefined()
      expect(row![1]).toBe('30/30')
      // Deliveries since the measurement began.
      expect(Number(row![3]!.replaceAll(',', '')), transport).toBeGreaterThan(0)
    }
    expect(errors).toEqual([])

    const shot = UPDATE_SCREENSHOT ? COMMITTED_SCREENSHOT : join(dir, 'dashboard.png')
    mkdirSync(join(shot, '..'), { recursive: true })
    await page.screenshot({ path: shot, fullPage: true })
    const png = readFileSync(shot)
    // PNG: the IHDR chunk's width at byte 16; a picture of the page, not of an empty tab.
    expect(png.readUInt32BE(16)).toBe(1400)
    expect(png.length).toBeGreaterThan(20_000)
    await page.close()
  }, 120_000)

  test('a tab opened late gets the run so far; kept open across two runs on one port, it shows the second from its start', async () => {
    // Measuring from the first second, so every frame is a point on the latency chart.
    const frame = (second: number): DashboardFrame =>
      dashboardFrame(second, {
        t: Date.now() - (10 - second) * 1000,
        measuring: true,
        connected: 10,
        subscribers: 10,
      })
    const boards: Dashboard[] = []
    try {
      const first = await startDashboard({
        port: 0,
        scenario: 'first-run',
        transports: ['sse'],
        retryMs: 100,
      })
      boards.push(first)
      for (let second = 1; second <= 3; second++) first.publish(frame(second))
      const { page, errors } = await browser.newPage()
      await page.goto(first.url)
      await page.waitForFunction('document.body.dataset.frames === "3"', undefined, {
        timeout: 10_000,
      })
      expect(await page.textContent('#scenario')).toBe('first-run')
      // The first run's dashboard goes, the second's comes up on the same port: the tab's
      // EventSource reconnects by itself, with the first run's Last-Event-ID.
      await first.close()
      const second = await startDashboard({
        port: first.port,
        scenario: 'second-run',
        transports: ['sse'],
        retryMs: 100,
      })
      boards.push(second)
      second.publish(frame(1))
      second.publish(frame(2))
      await page.waitForFunction(
        'document.getElementById("scenario").textContent === "second-run" && document.body.dataset.frames === "2"',
        undefined,
        { timeout: 15_000 },
      )
      second.finish({
        label: 'FAILED',
        reasons: ['sse p99 412.0 ms > 100 ms'],
        resultDir: null,
        reportPath: null,
      })
      await page.waitForFunction('document.body.dataset.state === "done"', undefined, {
        timeout: 10_000,
      })
      const end = (await page.evaluate(READ_PAGE)) as DashboardPage
      expect(end).toMatchObject({
        frames: 2,
        verdict: 'FAILED',
        reasons: ['sse p99 412.0 ms > 100 ms'],
        verdictShown: true,
      })
      // No report.html to link to: the link is not shown.
      expect(await page.isVisible('#report-link')).toBe(false)
      expect(end.points['latency']).toBe(2)
      expect(errors).toEqual([])
      await page.close()
    } finally {
      for (const board of boards) await board.close()
    }
  })
})
