import type { Page } from 'playwright-core'

/** What the ticker page shows, read from its DOM the way a person would read the screen. */
export interface PageState {
  /** The connection badge: connecting, open, reconnecting or closed. */
  readonly state: string
  readonly stateText: string
  readonly transport: string
  readonly events: number
  readonly ratePerSec: number
  readonly latencyP50Us: number
  readonly latencyP99Us: number
  /** The latency tile's second line: "p99 4.20 ms · last 5 s". */
  readonly latencyDetail: string
  readonly gaps: number
  readonly duplicates: number
  readonly resets: number
  readonly reconnects: number
  /** "resumed from id N": N, or '' before any resume. */
  readonly resumedFrom: string
  readonly lastId: string
  readonly rows: Readonly<Record<string, { last: string; bid: string; ask: string }>>
  /** Points on the latency chart, per transport. */
  readonly latencyPoints: Readonly<Record<'sse' | 'longpoll' | 'ws', number>>
  /** The connection log, oldest first. */
  readonly log: readonly { kind: string; state: string; text: string }[]
}

// A string, not a function: page.evaluate would serialize a function as transpiled by the test
// runner, helpers and all, and those helpers do not exist in the page.
const READ_PAGE = `(() => {
  const byId = (id) => document.getElementById(id)
  const value = (id) => byId(id).dataset.value ?? ''
  const rows = {}
  for (const tr of document.querySelectorAll('#quotes tr')) {
    const text = (column) => tr.querySelector('td.' + column + ' .price').textContent
    rows[tr.dataset.symbol] = { last: text('last'), bid: text('bid'), ask: text('ask') }
  }
  const log = [...document.querySelectorAll('#log li')].reverse().map((li) => ({
    kind: li.dataset.kind ?? '',
    state: li.dataset.state ?? '',
    text: li.querySelector('.message').textContent,
  }))
  const gapsDetail = byId('stat-gaps-detail').dataset
  const points = byId('latency-chart').dataset
  return {
    state: byId('connection').dataset.state,
    stateText: byId('connection').textContent.replace(/\\s+/g, ' ').trim(),
    transport: document.body.dataset.transport,
    events: Number(value('stat-events')),
    ratePerSec: Number(value('stat-rate')),
    latencyP50Us: Number(byId('stat-latency').dataset.value ?? NaN),
    latencyP99Us: Number(byId('stat-latency-detail').dataset.p99 ?? NaN),
    latencyDetail: byId('stat-latency-detail').textContent,
    gaps: Number(value('stat-gaps')),
    duplicates: Number(gapsDetail.duplicates ?? 0),
    resets: Number(gapsDetail.resets ?? 0),
    reconnects: Number(value('stat-reconnects')),
    resumedFrom: value('stat-resume'),
    lastId: value('stat-last-id'),
    rows,
    latencyPoints: {
      sse: Number(points.sse ?? 0),
      longpoll: Number(points.longpoll ?? 0),
      ws: Number(points.ws ?? 0),
    },
    log,
  }
})()`

export function readPage(page: Page): Promise<PageState> {
  return page.evaluate(READ_PAGE) as Promise<PageState>
}

/**
 * Waits until the page shows what `predicate` wants, reading it every 20 ms; on timeout, fails
 * with what it waited for and the last state seen (log trimmed to its end).
 */
export async function waitForPage(
  page: Page,
  what: string,
  predicate: (state: PageState) => boolean,
  timeoutMs = 10_000,
): Promise<PageState> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const state = await readPage(page)
    if (predicate(state)) return state
    if (Date.now() > deadline) {
      const shown = { ...state, log: state.log.slice(-8) }
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(shown)}`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Parses a price as the table shows it ("41.83"); NaN for "—". */
export const price = (text: string): number => Number(text)
