import { EventSource } from 'eventsource'
import { nowUs } from '../../clock.js'
import {
  createEventObserver,
  readAnyTick,
  readSnapshot,
  type TickFields,
  UNREADABLE_EVENT,
} from '../event-observer.js'
import type { Engine, EngineContext } from './engine.js'

// `message` is what an event without an `event:` line is dispatched as.
const EVENT_TYPES = ['quote', 'trade', 'status', 'message'] as const

/**
 * Subscribers built on the `eventsource` package: spec-true reconnection, `Last-Event-ID` and
 * `retry:` handling, as a browser does it. Heavier per event than the raw-socket engine, so for
 * smaller counts: it is the reference the fast engine is held against.
 */
export function createEventsourceEngine(context: EngineContext): Engine {
  const { metrics } = context
  return {
    start(symbols) {
      const url = new URL(
        'v1/stream',
        context.baseUrl.href.endsWith('/') ? context.baseUrl : `${context.baseUrl.href}/`,
      )
      if (symbols !== null) url.searchParams.set('symbols', symbols.join(','))
      const observer = createEventObserver(metrics)
      const fields: TickFields = { ts: 0, sym: '', q: 0 }
      const startedUs = nowUs()
      let opens = 0
      let open = false
      // A fetch whose connection the harness can cut (fault injection): EventSource sees a network
      // error and reconnects by itself with Last-Event-ID, as a browser would.
      let cut: AbortController | undefined
      const source = new EventSource(url, {
        fetch: (input, init) => {
          cut = new AbortController()
          const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal
          return fetch(input, { ...init, signal })
        },
      })
      source.addEventListener('open', () => {
        opens++
        open = true
        metrics.connectionOpened()
        if (opens === 1) metrics.recordConnectUs(nowUs() - startedUs)
        else observer.reconnected()
      })
      source.addEventListener('error', () => {
        metrics.countError('eventsource-error')
        if (open) {
          open = false
          metrics.connectionClosed()
          observer.dropped()
        }
      })
      const onTick = (event: MessageEvent): void => {
        const receiptUs = nowUs()
        const data = String(event.data)
        metrics.addBytes(data.length)
        if (readAnyTick(data, fields))
          observer.tick(observer.symbol(fields.sym), fields.q, fields.ts, receiptUs)
        else metrics.countError(UNREADABLE_EVENT)
      }
      for (const type of EVENT_TYPES) source.addEventListener(type, onTick)
      source.addEventListener('snapshot', (event: MessageEvent) => {
        const snapshot = readSnapshot(String(event.data))
        if (snapshot === null) metrics.countError(UNREADABLE_EVENT)
        else observer.snapshot(snapshot.quotes, snapshot.reset, nowUs())
      })
      return {
        close() {
          if (open) metrics.connectionClosed()
          open = false
          source.close()
        },
        drop() {
          cut?.abort()
        },
      }
    },
  }
}
