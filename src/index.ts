// The package entry: the parts a program can use on their own.
export { nowUs } from './clock.js'
export { ERROR_CODES, type ErrorCode, TickstormError } from './errors.js'
export { createFeed, DEFAULT_FEED_OPTIONS, type Feed, type FeedOptions } from './feed/feed.js'
export type { FeedEvent, FeedFrame } from './feed/feed-event.js'
export { createMarket, resolveMarketOptions } from './market/market.js'
export type * from './market/types.js'
export { PRICE_SCALE } from './market/types.js'
export { createServer, type ServerStats, type TickstormServer } from './server/server.js'
export { DEFAULT_SERVER_OPTIONS, type ServerOptions } from './server/server-options.js'
export {
  encodeSseEvent,
  encodeSseRetry,
  SSE_HEARTBEAT,
  type SseEventType,
} from './wire/sse-frame.js'
export {
  createSseParser,
  type SseEvent,
  type SseParser,
  type SseParserOptions,
} from './wire/sse-parser.js'
export { encodeTickJson, formatPrice } from './wire/tick-json.js'
