import 'uplot/dist/uPlot.min.css'
import './styles.css'
import {
  changeParts,
  formatCount,
  formatLatencyUs,
  formatPercent,
  formatPrice,
  joinParts,
  priceParts,
} from './format.js'
import { createLatencyChart, LATENCY_SAMPLE_MS } from './latency-chart.js'
import { openLongPoll } from './poll-transport.js'
import { createPriceChart } from './price-chart.js'
import { writePrice } from './price-text.js'
import { createQuoteBook } from './quote-book.js'
import { createQuoteTable } from './quote-table.js'
import { openSse } from './sse-transport.js'
import { createStatusPanel } from './status-panel.js'
import { nowUs } from './stream-event.js'
import { createStreamStats } from './stream-stats.js'
import {
  type OpenTransport,
  TRANSPORT_LABELS,
  type Transport,
  type TransportName,
} from './transport.js'
import { bindSymbolPicker, initialWatchList, MAX_WATCH_SIZE, saveWatchList } from './watch-list.js'
import { openWs } from './ws-transport.js'

const OPENERS: Readonly<Record<TransportName, OpenTransport>> = {
  sse: openSse,
  longpoll: openLongPoll,
  ws: openWs,
}
/** Pause before the page itself reconnects a WebSocket or a failed poll (EventSource uses `retry:`). */
const RECONNECT_DELAY_MS = 1000
/** Figures, sparklines and the big chart redraw at this pace; table cells on every frame. */
const SLOW_RENDER_MS = 250

interface Instrument {
  readonly symbol: string
  readonly startPrice: number
  readonly tickSize: number
}

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id)
  if (node === null) throw new Error(`the page has no #${id}`)
  return node as T
}

const isTransport = (value: string | null): value is TransportName =>
  value === 'sse' || value === 'longpoll' || value === 'ws'

/** This tab's id for `client=`: random, and made without crypto.randomUUID, which needs HTTPS. */
function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  return `tab-${[...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`
}

async function start(): Promise<void> {
  const panel = createStatusPanel()
  const response = await fetch('/v1/symbols')
  if (!response.ok) throw new Error(`GET /v1/symbols answered ${response.status}`)
  const instruments = ((await response.json()) as { symbols: Instrument[] }).symbols
  const universe = instruments.map((instrument) => instrument.symbol)
  const bySymbol = new Map(instruments.map((entry) => [entry.symbol, entry]))

  const clientId = newClientId()
  const params = new URLSearchParams(location.search)
  const asked = params.get('transport')
  let transportName: TransportName = isTransport(asked) ? asked : 'sse'
  let watchList = initialWatchList(universe, location.search)
  let selected: string | null = watchList[0] ?? null

  const book = createQuoteBook((symbol) => bySymbol.get(symbol))
  const stats = createStreamStats()
  const chart = createPriceChart(byId('chart'))
  const latencyChart = createLatencyChart(byId('latency-chart'))
  const table = createQuoteTable(byId<HTMLTableSectionElement>('quotes'), {
    onSelect: (symbol) => select(symbol),
    onRemove: (symbol) => setWatchList(watchList.filter((name) => name !== symbol)),
  })
  const transportButtons = [...document.querySelectorAll<HTMLButtonElement>('[data-transport]')]
  byId('client-id').textContent = clientId

  let transport: Transport | null = null
  /** Which connection is current: callbacks of a closed one are ignored. */
  let generation = 0
  let reconnects = 0
  let resumedFrom: string | null = null

  /** Opens this tab's one stream for the whole watch-list, resuming after the last id or fresh. */
  const connect = (resume: boolean): void => {
    transport?.close()
    const current = ++generation
    if (!resume) stats.forgetBaselines()
    const name = transportName
    transport = OPENERS[name]({
      baseUrl: location.origin,
      symbols: watchList,
      clientId,
      lastEventId: resume ? stats.lastId : null,
      reconnectDelayMs: RECONNECT_DELAY_MS,
      handlers: {
        onEvent(event) {
          if (current !== generation) return
          const caughtUp = stats.observe(event, nowUs())
          book.apply(event)
          if (caughtUp !== null && caughtUp.events > 0) {
            panel.log(
              'catchup',
              `caught up: ${formatCount(caughtUp.events)} replayed events, the oldest ${formatLatencyUs(caughtUp.maxLatencyUs)} late (the time between connections); the latency figures leave them out`,
            )
          }
          if (event.type === 'snapshot' && event.data.reset) {
            panel.log(
              'warn',
              `snapshot with reset at id ${event.id}: the server no longer had the events asked for`,
            )
          }
        },
        onState(change) {
          if (current !== generation) return
          panel.setState(change, name)
          if (change.state === 'reconnecting') reconnects++
          if (change.resumedFrom !== undefined) {
            resumedFrom = change.resumedFrom
            // What this connection replays is late by the outage, not by the transport.
            if (change.state === 'open') stats.resumed(nowUs())
          }
          panel.setReconnects(reconnects, resumedFrom)
          panel.log(
            change.resumedFrom === undefined ? 'state' : 'resume',
            change.detail,
            change.state,
          )
        },
        onNotice(text) {
          if (current === generation) panel.log('warn', text)
        },
      },
    })
  }

  const rememberInUrl = (): void => {
    const url = new URL(location.href)
    url.searchParams.set('transport', transportName)
    url.searchParams.set('symbols', watchList.join(','))
    history.replaceState(null, '', url)
  }

  const showTransport = (): void => {
    for (const button of transportButtons) {
      button.setAttribute('aria-pressed', String(button.dataset['transport'] === transportName))
    }
    document.body.dataset['transport'] = transportName
  }

  const select = (symbol: string | null): void => {
    selected = symbol
    table.setSelected(symbol)
    const state = symbol === null ? undefined : book.get(symbol)
    byId('chart-symbol').textContent = symbol ?? '—'
    if (state !== undefined) chart.show(state.history, state.tickSize)
    renderChartHeader()
  }

  function setWatchList(next: readonly string[]): void {
    watchList = [...next]
    saveWatchList(watchList)
    book.setSymbols(watchList)
    table.setSymbols(watchList, book)
    byId('watch-count').textContent = `${watchList.length} symbols · one stream`
    select(selected !== null && watchList.includes(selected) ? selected : (watchList[0] ?? null))
    rememberInUrl()
    if (watchList.length === 0) {
      transport?.close()
      transport = null
      generation++
      panel.log('watch', 'watch-list empty: no stream')
      return
    }
    panel.log('watch', `watch-list of ${watchList.length}: a new stream starts with a snapshot`)
    connect(false)
  }

  function renderChartHeader(): void {
    const state = selected === null ? undefined : book.get(selected)
    const price = state === undefined ? Number.NaN : state.last
    const change = state === undefined ? Number.NaN : price - state.reference
    const tickSize = state?.tickSize ?? Number.NaN
    writePrice(byId('chart-price'), priceParts(price, tickSize))
    const changeNode = byId('chart-change')
    changeNode.textContent =
      state === undefined
        ? ''
        : `${joinParts(changeParts(change, tickSize))} (${formatPercent(change / state.reference)})`
    changeNode.dataset['dir'] = change > 0 ? 'up' : change < 0 ? 'down' : 'flat'
    byId('chart-quote').textContent =
      state === undefined
        ? ''
        : `bid ${formatPrice(state.bid, tickSize)} · ask ${formatPrice(state.ask, tickSize)}`
  }

  for (const button of transportButtons) {
    button.addEventListener('click', () => {
      const name = button.dataset['transport'] ?? null
      if (!isTransport(name) || name === transportName) return
      transportName = name
      showTransport()
      rememberInUrl()
      panel.log(
        'switch',
        `switched to ${TRANSPORT_LABELS[name]}, resuming after id ${stats.lastId ?? '—'}`,
      )
      if (watchList.length > 0) connect(true)
    })
  }

  byId('drop').addEventListener('click', async () => {
    panel.log('drop', `POST /v1/drop?client=${clientId}: asking the server to cut this tab`)
    try {
      const answer = await fetch(`/v1/drop?client=${clientId}`, { method: 'POST' })
      const { dropped } = (await answer.json()) as { dropped: number }
      panel.log(
        'drop',
        dropped > 0
          ? `the server cut ${dropped} connection${dropped === 1 ? '' : 's'}, as a network fault would`
          : transportName === 'longpoll'
            ? 'nothing to cut: no poll was waiting (between answers long polling holds no request)'
            : 'nothing to cut: this tab had no open connection',
      )
    } catch (error) {
      panel.log('warn', `drop failed: ${String(error)}`)
    }
  })

  bindSymbolPicker(byId<HTMLFormElement>('add-symbol'), universe, (symbol) => {
    if (watchList.includes(symbol)) return `${symbol} is already on the watch-list`
    if (watchList.length >= MAX_WATCH_SIZE) return `at most ${MAX_WATCH_SIZE} symbols`
    setWatchList([...watchList, symbol])
    select(symbol)
    return null
  })

  // Table cells follow the screen's frames; figures and charts a timer, so they stay current in a
  // window the browser draws seldom (rAF all but stops in unfocused or occluded windows) and cost
  // nothing in a hidden tab.
  const frame = (): void => {
    table.render(book)
    requestAnimationFrame(frame)
  }
  let latencySampleAtMs = 0
  const slowRender = (): void => {
    if (document.hidden) return
    const nowMs = nowUs() / 1000
    panel.renderStats(stats, nowMs)
    table.renderSparklines(book)
    chart.update()
    renderChartHeader()
    if (nowMs - latencySampleAtMs >= LATENCY_SAMPLE_MS) {
      latencySampleAtMs = nowMs
      latencyChart.sample(stats, transportName, nowMs)
    }
  }

  showTransport()
  panel.setReconnects(0, null)
  panel.log(
    'state',
    `client ${clientId}: ${TRANSPORT_LABELS[transportName]}, ${watchList.length} symbols`,
  )
  setWatchList(watchList)
  requestAnimationFrame(frame)
  setInterval(slowRender, SLOW_RENDER_MS)
}

start().catch((error: unknown) => {
  const banner = document.getElementById('fatal')
  if (banner !== null) {
    banner.hidden = false
    banner.textContent = `The page could not start: ${error instanceof Error ? error.message : String(error)}`
  }
})
