/**
 * nchan (nginx's pub/sub module) as a target: one channel per symbol, a watch-list is one
 * multiplexed subscription (`/sub/AAPL,MSFT`, with `nchan_channel_id_split_delimiter ","`; at
 * most 255 channels), the same URL for EventSource, long-poll and WebSocket. nchan makes no
 * events of its own: the harness publishes each tick to `POST /pub/<symbol>` (source harness),
 * and its payload is tickstorm's tick JSON, which nchan passes through untouched.
 *
 * Resume: SSE sends nchan's own ids back as `Last-Event-ID` (`<time>:<tag per channel>`, which
 * must return exactly as sent); long-poll carries `Last-Modified`/`ETag` as
 * `If-Modified-Since`/`If-None-Match`; a WebSocket asks for nchan's `ws+meta.nchan` subprotocol,
 * whose messages carry their id, and sends the last one back as `Last-Event-ID` in the handshake
 * of its reconnect (a plain nchan WebSocket gets no ids, and would resume at the newest message).
 * bench/peers/nchan.conf is a config with these locations.
 */

import { TARGET_OFFERS, type TargetAdapter } from './adapter.js'
import { TICKSTORM_EVENT_FIELDS, type WireSpec } from './wire-spec.js'

export interface NchanTargetConfig {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string>>
}

export function createNchanAdapter(config: NchanTargetConfig): TargetAdapter {
  const wire: WireSpec = {
    headers: config.headers,
    query: config.query,
    symbolSeparator: ',',
    everySymbol: null,
    sse: { path: '/sub/{symbols}', resume: 'last-event-id' },
    longpoll: { path: '/sub/{symbols}', cursorQuery: null, answer: 'message' },
    ws: {
      path: '/sub/{symbols}',
      subscribe: null,
      resumeField: null,
      resumeHeader: 'Last-Event-ID',
      frames: 'meta',
      protocols: ['ws+meta.nchan'],
    },
    http: null,
    event: TICKSTORM_EVENT_FIELDS,
    snapshots: false,
    token: null,
  }
  return {
    kind: 'nchan',
    ...TARGET_OFFERS.nchan,
    defaultSource: 'harness',
    wire,
    universe: async () => null,
    heads: async () => null,
    publish: (ticks) =>
      ticks.map((tick) => ({
        method: 'POST',
        path: `/pub/${encodeURIComponent(tick.symbol)}`,
        headers: { 'content-type': 'application/json', ...config.headers },
        body: tick.data,
      })),
    publishUrl: config.url,
    attach: async () => null,
  }
}
