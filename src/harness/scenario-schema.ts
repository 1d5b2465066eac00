/**
 * The scenario file's shape, as a strict zod schema: every object rejects unknown keys (a typo
 * in a load test silently running the defaults is worse than an error), and defaults are filled
 * in here so the rest of the harness reads one complete, frozen object. Cross-field rules (the
 * `capacity` block only with the capacity executor, `server` only with the embedded target, …)
 * live in scenario.ts, beside the error formatting, so they are reported together with these.
 */

import { z } from 'zod'
import { PRESET_NAMES } from '../market/presets.js'
import { TAPE_FORMATS } from '../market/tapes/tape-event.js'
import type { PresetName } from '../market/types.js'
import { TRANSPORT_NAMES } from '../report/measurements.js'
import { breakOnSchema, thresholdsSchema } from '../report/thresholds.js'
import { FIELD_PATH } from './event-fields.js'
import { EVENT_SOURCES, TARGET_KINDS } from './targets/adapter.js'

/** The universe's upper bound (src/market/instruments.ts). */
const MAX_SYMBOLS = 8000

const TRANSPORTS = TRANSPORT_NAMES

/** The executors (harness/executors/registry.ts holds one of each, by these names). */
export const EXECUTOR_NAMES = ['constant', 'ramp', 'arrival-rate', 'capacity'] as const
const PRESETS = PRESET_NAMES as readonly [PresetName, ...PresetName[]]

const positiveInt = (max: number) => z.number().int().min(1).max(max)

export const serverSchema = z.strictObject({
  /** Market preset of the embedded server. */
  preset: z.enum(PRESETS).default('normal'),
  /** Universe size; absent: the preset's (500, or 8,000 for stress). */
  symbols: positiveInt(MAX_SYMBOLS).optional(),
  seed: z.number().int().min(0).max(0xffff_ffff).default(1),
  /** Pacing frame: ticks due within one frame go out as one write. */
  frameMs: z.number().min(1).max(1000).default(5),
  /** Simulated seconds per wall second. */
  speed: z.number().min(0.001).max(10_000).default(1),
  /** Midday mean event rate override, events/s. */
  ratePerSec: z.number().positive().max(1_000_000).optional(),
  /**
   * Replay this recorded tape (`serve --tape`; a path from where tickstorm runs) instead of the
   * model: preset, seed, symbols and ratePerSec are then unused; speed scales the tape's time.
   */
  tape: z.string().min(1).optional(),
  tapeFormat: z.enum(TAPE_FORMATS).optional(),
  /** Tape time to start at, `HH:MM:SS[.ffffff]` New York (default: the first event). */
  tapeStart: z
    .string()
    .regex(/^([01]?\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?$/, { error: 'must be HH:MM:SS[.ffffff]' })
    .optional(),
  /** Replay only these symbols (default: every symbol of the tape). */
  tapeSymbols: z
    .array(z.string().regex(/^[!#-+\--[\]-~]+$/))
    .min(1)
    .max(MAX_SYMBOLS)
    .optional(),
})

export const watchListSchema = z.strictObject({
  /** Symbols per subscriber. */
  size: positiveInt(MAX_SYMBOLS).default(20),
  /**
   * How each subscriber's symbols are chosen: `zipf` favours the most active names (as real
   * watch-lists do), `uniform` spreads evenly, `fixed` gives everyone `symbols`.
   */
  pick: z.enum(['zipf', 'uniform', 'fixed']).default('zipf'),
  symbols: z
    .array(z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/, { error: 'must be an upper-case ticker' }))
    .min(1)
    .max(MAX_SYMBOLS)
    .optional(),
  /** Seed of the harness's own RNG for the picks. */
  seed: z.number().int().min(0).max(0xffff_ffff).default(1),
})

export const subscribersSchema = z.strictObject({
  /** Required, except with executor arrival-rate (there: `arrivalRate.maxSubscribers`). */
  count: positiveInt(1_000_000).optional(),
  /** Connect everyone evenly over this many seconds … */
  rampSec: z.number().min(0).max(3600).optional(),
  /** … or at this many connects per second (default 500/s when neither is given). */
  rampPerSec: z.number().positive().max(1_000_000).optional(),
  watchList: watchListSchema.default({ size: 20, pick: 'zipf', seed: 1 }),
})

export const capacitySchema = z.strictObject({
  /** Subscribers in the first step. */
  start: positiveInt(1_000_000),
  /** Each step adds `add` subscribers, or multiplies by `factor`: exactly one of the two. */
  step: z.strictObject({
    add: positiveInt(1_000_000).optional(),
    factor: z.number().gt(1).max(10).optional(),
  }),
  /** Never go above this many subscribers. */
  max: positiveInt(1_000_000),
  /** Measured seconds per step (after the step's connections are up). */
  stepDurationSec: z.number().min(1).max(3600),
  /** A step that breaks any of these ends the search; the previous step is the capacity. */
  breakOn: breakOnSchema,
})

/**
 * The open model (k6's `constant-arrival-rate`, with churn): subscribers arrive as a Poisson
 * process, each stays for a drawn session length and leaves, whatever the server does. A closed
 * model (a fixed crowd) hides a slow server behind slow reconnects; real audiences keep coming.
 */
export const arrivalRateSchema = z.strictObject({
  /** Mean arrivals per second: exponential gaps, each independent of the others. */
  ratePerSec: z.number().positive().max(10_000),
  /** How long each subscriber stays, in seconds. */
  sessionSec: z.strictObject({
    mean: z.number().min(0.1).max(86_400),
    /** `exponential`: memoryless stays around the mean (most short, a few long); `fixed`: all equal. */
    distribution: z.enum(['exponential', 'fixed']).default('exponential'),
  }),
  /**
   * At most this many subscribers at once; an arrival past it is dropped and counted (k6's
   * `dropped_iterations`): the bound keeps a slow server from growing the crowd without end.
   */
  maxSubscribers: positiveInt(1_000_000),
  /** Seed of the arrival and session draws: the same seed, the same arrivals. */
  seed: z.number().int().min(0).max(0xffff_ffff).default(1),
  /**
   * Watch-list changes during a session, as real audiences change what they follow: each
   * subscriber changes at exponential gaps of mean `everySec` (memoryless, drawn from `seed` and
   * the subscriber's number), each change replacing `swap` of its symbols by ones it does not
   * hold, picked as its watch-list was. Absent: a subscriber keeps its list for its whole stay.
   */
  watchListChanges: z
    .strictObject({
      everySec: z.number().min(0.1).max(86_400),
      swap: positiveInt(MAX_SYMBOLS).default(1),
    })
    .optional(),
})

export const phaseSchema = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  durationSec: z.number().min(1).max(86_400),
  /** Subscribers during this phase; absent: the previous phase's (or subscribers.count). */
  count: positiveInt(1_000_000).optional(),
  /** Seconds to move from the previous count to this one. */
  rampSec: z.number().min(0).max(3600).default(0),
})

export const faultSchema = z.strictObject({
  /** Seconds after the measurement starts. */
  atSec: z.number().min(0),
  /** drop: close connections; stall: stop reading; restart: restart the server; storm: drop all at once. */
  kind: z.enum(['drop', 'stall', 'restart', 'storm']),
  /** Share of subscribers affected, 0..1 (default 1). */
  fraction: z.number().gt(0).max(1).default(1),
  /** How long a stall lasts. */
  durationSec: z.number().min(0).max(3600).optional(),
})

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
/** A request path: starts with `/`, no spaces or line breaks (it goes on the request line). */
const requestPathSchema = z.string().regex(/^\/[^\s]*$/, {
  error: 'must be a path starting with / (no spaces)',
})
const fieldPathSchema = z.string().regex(FIELD_PATH, {
  error: 'must be a JSON path like $.ts or $.meta.time',
})

/** Where the harness reads an event's fields (generic targets; others send tickstorm's payload). */
export const eventFieldsSchema = z.strictObject({
  time: fieldPathSchema.default('$.ts'),
  /** The time's unit: epoch nanoseconds, microseconds, milliseconds or seconds. */
  timeUnit: z.enum(['ns', 'us', 'ms', 's']).default('us'),
  sequence: fieldPathSchema.default('$.q'),
  /** The key the sequence counts within (a symbol); null: one sequence for the whole stream. */
  key: z.union([fieldPathSchema, z.null()]).default('$.sym'),
})

/**
 * A push server to measure: `kind` names its adapter (src/harness/targets/). Credentials go on
 * every subscriber's requests; `pid` or `command` give the harness the server's process (sampled
 * for CPU and memory, and for `stall`/`restart`). A generic target describes its endpoints.
 */
export const targetObjectSchema = z.strictObject({
  kind: z.enum(TARGET_KINDS).default('tickstorm'),
  url: httpUrl,
  /** Request headers on every subscriber's requests (e.g. Authorization). */
  headers: z
    .record(
      z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be an HTTP header name' }),
      z.string().regex(/^[^\r\n]*$/, { error: 'must be one line' }),
    )
    .default({}),
  /** Cookies, sent as one Cookie header. */
  cookies: z
    .record(
      z.string().regex(/^[^=;,\s]+$/, { error: 'must be a cookie name' }),
      z.string().regex(/^[^;,\s]*$/, { error: 'must be a cookie value (no ; , or spaces)' }),
    )
    .default({}),
  /** Query parameters on every subscriber's requests (e.g. an access token). */
  query: z.record(z.string().min(1), z.string()).default({}),
  /** The server's process, already running: sampled; a `stall` fault may freeze it. */
  pid: z.number().int().min(1).max(4_194_304).optional(),
  /** A shell command that starts the server: the harness starts it per transport and stops it. */
  command: z.string().min(1).max(4096).optional(),
  /** tickstorm: a signed token per subscriber, from the server's HS256 secret (`serve --auth-secret`). */
  auth: z
    .strictObject({
      secret: z.string().min(32, { error: 'must be at least 32 bytes (RFC 7518 §3.2)' }),
      ttlSec: z.number().int().min(60).max(604_800).default(3600),
    })
    .optional(),
  /** Pushpin: its HTTP control API, where the harness publishes. */
  publishUrl: httpUrl.optional(),
  /** Pushpin: where the harness's GRIP origin listens (the routes file points there). */
  origin: z
    .string()
    .regex(/^[\w.-]+:\d{1,5}$/, { error: 'must be host:port' })
    .optional(),
  /** generic: the SSE endpoint; `{symbols}` is the watch-list, comma-separated. */
  sse: z
    .strictObject({
      path: requestPathSchema,
      /** How a reconnect asks for what it missed. */
      resume: z
        .union([
          z.enum(['last-event-id', 'none']),
          z.strictObject({ query: z.string().regex(/^[\w.-]+$/) }),
        ])
        .default('last-event-id'),
    })
    .optional(),
  /** generic: the WebSocket endpoint. */
  ws: z
    .strictObject({
      path: requestPathSchema,
      /** Sent when the socket opens; `{symbols}` is the watch-list as a JSON array. */
      subscribe: z.string().min(1).max(4096).optional(),
      /** The subscribe message's field that carries the last id received, on a reconnect. */
      resumeField: z.string().min(1).optional(),
      /** `message`: one event's payload per message; `events`: JSON arrays of { id, event, data }. */
      frames: z.enum(['message', 'events']).default('message'),
      protocols: z.array(z.string().min(1)).max(16).default([]),
    })
    .optional(),
  /** generic: the long-poll endpoint; `{cursor}` is the previous answer's `cursor` (empty at first). */
  longpoll: z
    .strictObject({
      path: requestPathSchema,
      /** `events`: a JSON body { events: [...], cursor }; `message`: one payload per answer (nchan's). */
      answer: z.enum(['events', 'message']).default('events'),
    })
    .optional(),
  /** generic: where the harness publishes each tick (with source: harness); `{symbol}` is its symbol. */
  publish: z
    .strictObject({
      method: z.enum(['POST', 'PUT']).default('POST'),
      path: requestPathSchema,
      /** `raw`: the tick's JSON payload as the body. */
      body: z.literal('raw').default('raw'),
    })
    .optional(),
  /** generic: where the harness reads each event's time, sequence and key. */
  event: eventFieldsSchema.optional(),
})

export const targetSchema = z.union([z.literal('embedded'), targetObjectSchema])

export const scenarioSchema = z.strictObject({
  /** Lower-case words joined by dashes; names the results directory. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, {
    error: 'must be lower-case letters, digits and dashes (at most 64)',
  }),
  description: z.string().min(1).max(2000),
  /** `embedded`: the harness starts our server in a child process; or `{ url }` of any server. */
  target: targetSchema.default('embedded'),
  /**
   * Where events come from: `server` (the target's own, tickstorm's market) or `harness` (the
   * harness runs the seeded market of the `server:` block and publishes every tick through the
   * target's publish API, on schedule). Default: the target kind's (server for tickstorm).
   */
  source: z.enum(EVENT_SOURCES).optional(),
  server: serverSchema.optional(),
  /** Run one after the other, each with the same workload. */
  transports: z.array(z.enum(TRANSPORTS)).min(1).max(TRANSPORTS.length),
  subscribers: subscribersSchema,
  /** Measured seconds per transport (after the warm-up); optional when `phases` are given. */
  durationSec: z.number().min(1).max(86_400).optional(),
  /** Seconds before measuring starts (connections ramp, JIT warms); excluded from results. */
  warmupSec: z.number().min(0).max(3600).default(5),
  executor: z.enum(EXECUTOR_NAMES).default('constant'),
  capacity: capacitySchema.optional(),
  arrivalRate: arrivalRateSchema.optional(),
  phases: z.array(phaseSchema).min(1).max(100).optional(),
  thresholds: thresholdsSchema.default({}),
  /** Harness worker threads; `auto` = one per core. */
  workers: z.union([z.literal('auto'), positiveInt(256)]).default('auto'),
  /** Validated now; executed by the fault-injection work. */
  faults: z.array(faultSchema).max(1000).default([]),
})

export type ParsedScenario = z.output<typeof scenarioSchema>
export type ExecutorName = (typeof EXECUTOR_NAMES)[number]
