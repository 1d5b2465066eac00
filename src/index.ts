// The package entry: the parts a program can use on their own. Nothing harness-internal (pools,
// engines, executors, the SSE fast path) is exported.
export { nowUs } from './clock.js'
export { ERROR_CODES, type ErrorCode, TickstormError } from './errors.js'
export { createFeed, DEFAULT_FEED_OPTIONS, type Feed, type FeedOptions } from './feed/feed.js'
export type { FeedEvent, FeedFrame } from './feed/feed-event.js'
export type { FrameSource, LogSource } from './feed/log-source.js'
export {
  type RunOptions,
  type RunOutcome,
  type RunProgress,
  runScenario,
} from './harness/runner.js'
export { loadScenario, parseScenario, type Scenario } from './harness/scenario.js'
export { createMarket, resolveMarketOptions } from './market/market.js'
export type * from './market/types.js'
export { PRICE_SCALE } from './market/types.js'
export { type LoadedResult, readResultDir } from './report/read-result.js'
export { type RunResult, type TransportResult, validateRunResult } from './report/result-schema.js'
export { runDirName, writeResultDir } from './report/write-result.js'
export {
  type CreateServerOptions,
  createServer,
  type RedisSourceLink,
  type ServerStats,
  type SourceOption,
  type TickstormServer,
} from './server/server.js'
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
