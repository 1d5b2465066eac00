import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ERROR_CODES, TickstormError } from '../errors.js'
import { openRedisFeed } from '../feed/redis-publisher.js'
import { DEFAULT_REDIS_PREFIX, redactRedisUrl } from '../feed/redis-stream.js'
import { formatTapeTime } from '../market/tapes/tape-info.js'
import { openTapeMarket, type TapeReplayOptions } from '../market/tapes/tape-market.js'
import type { PresetName } from '../market/types.js'
import { createServer } from '../server/server.js'
import {
  DEFAULT_SERVER_OPTIONS,
  FEED_OPTION_KEYS,
  marketOptionsOf,
  pick,
  resolveServerOptions,
  type ServerOptions,
} from '../server/server-options.js'
import { EXIT } from './exit-codes.js'
import { integer, namingFlags, number, type OptionSources } from './flag-values.js'
import { TAPE_FLAG_OPTIONS, TAPE_FLAGS_HELP, tapeOptionsOf } from './tape-flags.js'
import { takeWorkersFlag } from './workers-flag.js'

// `tickstorm serve` and `tickstorm feed`: the server and the Redis generator, from flags.

const d = DEFAULT_SERVER_OPTIONS
const SERVE_HELP = `Usage: tickstorm serve [options]

Serves a seeded, simulated stock market over Server-Sent Events, long polling and WebSocket
on uWebSockets.js.

Options:
  --host <addr>          address to bind (default ${d.host})
  --port <n>             port, 0 for any free one (default ${d.port})
  --seed <n>             market seed, 0..4294967295 (default ${d.seed})
  --preset <name>        quiet | normal | open-burst | close | news-spike | flash-crash |
                         halt-resume | stress (default ${d.preset})
  --symbols <n>          universe size, 1..8000 (default: the preset's, 500; stress 8000)
  --rate <n>             midday mean events/s, overriding the preset's
  --speed <x>            simulated seconds per real second (default ${d.speed})
  --frame-ms <n>         pacing frame: ticks due within one frame go out together (default ${d.frameMs})
  --history <n>          replay ring size in events (default ${d.historyEvents})
  --history-bytes <n>    replay ring size in bytes (default ${d.historyBytes})
  --heartbeat-ms <n>     comment heartbeat interval (default ${d.heartbeatMs})
  --retry-ms <n>         reconnection time sent as retry: (default ${d.retryMs})
  --max-connections <n>  connections held at once over all transports, 0 = no bound
                         (default ${d.maxConnections}); past it new ones are shed
  --max-connections-per-address <n>
                         the same per client address (default ${d.maxConnectionsPerAddress}: no bound)
  --auth-secret <s>      require HS256-signed tokens with this secret (≥ 32 bytes) on every
                         subscription endpoint; other local users can read argv, so prefer
                         the TICKSTORM_AUTH_SECRET environment variable
  --auth-public-key-file <pem>
                         require tokens signed for this public key: RS256 (RSA) or ES256 (P-256)
  --cors-origin <origin> allow pages from this origin (repeatable, or a comma list), with
                         credentials; others are refused on /v1/* (default *: any, no credentials)
  --workers <n>          serve from n worker threads on the one port, 1..64 (default 1: one
                         thread); one market feeds them all, so ids, replay and snapshots are
                         the same on every worker; --max-connections is split between them
  --redis <url>          run as an edge: take the events from the Redis Stream that
                         \`tickstorm feed --redis <url>\` writes, instead of a market of its own (the
                         market flags are then the generator's); clients may move between edges
                         and resume by Last-Event-ID
  --redis-prefix <p>     key prefix in Redis (default ${DEFAULT_REDIS_PREFIX})
${TAPE_FLAGS_HELP}  -h, --help             this text

Endpoints: GET /v1/stream?symbols=AAPL,MSFT (SSE), POST /v1/stream, GET /v1/poll (long
polling), /v1/ws (WebSocket), GET /v1/snapshot, GET /v1/symbols, GET /healthz,
GET /metrics (Prometheus). Tokens: "Authorization: Bearer", the tickstorm_token cookie, or
access_token=; claim "symbols": "*" or ["AAPL", ...]; "exp" required.
SIGINT/SIGTERM drain every stream with a jittered retry:, answer parked polls and close
WebSockets with 1001.
`

/** Flag name → [option key, parser]. */
const SERVE_FLAGS = {
  host: ['host', (v: string) => v],
  port: ['port', integer],
  seed: ['seed', integer],
  preset: ['preset', (v: string) => v as PresetName],
  symbols: ['symbols', integer],
  rate: ['ratePerSec', number],
  speed: ['speed', number],
  'frame-ms': ['frameMs', number],
  history: ['historyEvents', integer],
  'history-bytes': ['historyBytes', integer],
  'heartbeat-ms': ['heartbeatMs', integer],
  'retry-ms': ['retryMs', integer],
  'max-connections': ['maxConnections', integer],
  'max-connections-per-address': ['maxConnectionsPerAddress', integer],
  'auth-secret': ['authSecret', (v: string) => v],
  'auth-public-key-file': ['authPublicKey', readKeyFile],
  'cors-origin': ['corsOrigins', (v: string) => v.split(',').map((origin) => origin.trim())],
} as const satisfies Record<string, readonly [keyof ServerOptions, (value: string) => unknown]>

/** The flags that shape the market and its pacing: the generator's, never an edge's. */
const MARKET_FLAGS = ['seed', 'preset', 'symbols', 'rate', 'speed', 'frame-ms'] as const

/** What a tape replaces: the model's market (its pacing, --speed and --frame-ms, stays). */
const TAPE_REPLACES = ['seed', 'preset', 'symbols', 'rate'] as const

/** `tickstorm feed` takes the market flags and the replay window (which trims the stream). */
const FEED_FLAGS = [...MARKET_FLAGS, 'history', 'history-bytes'] as const

const FEED_HELP = `Usage: tickstorm feed --redis <url> [options]
       tickstorm feed --redis <url> --tape <file> [--speed x] [--tape-start HH:MM:SS] ...

Runs the market generator of a several-host deployment: every pacing frame goes to a Redis
Stream (<prefix>:events, XADD with the frame's own id, trimmed to the replay window) and the
latest value of each symbol to <prefix>:latest. Edges (\`tickstorm serve --redis <url>\`) read
the stream and serve clients. While Redis is down frames wait (up to one replay window) and go
out when it is back. Started again on the same stream, it continues it: same market, next id.

Options:
  --redis <url>          redis://[user:password@]host:port[/db] (required)
  --redis-prefix <p>     key prefix (default ${DEFAULT_REDIS_PREFIX})
  --seed, --preset, --symbols, --rate, --speed, --frame-ms
                         the market, as for \`tickstorm serve\` (see its --help)
  --history <n>          replay window in events: the stream is trimmed to it (default ${d.historyEvents})
  --history-bytes <n>    replay window in bytes, for edges' rings (default ${d.historyBytes})
${TAPE_FLAGS_HELP}  -h, --help             this text

With --tape the stream carries the tape's replay (and its universe, in <prefix>:meta, for the
edges); a replay always starts a stream of its own, so clear the keys (or use another prefix)
to replay again.

Stream ids are event ids: entry L-0 holds events first..L (its "first" field). Prints a
status line every few seconds; SIGINT/SIGTERM write what is pending and exit.
`

/** Flags that may be given several times; their values are joined with commas. */
const REPEATABLE_FLAGS: ReadonlySet<string> = new Set(['cors-origin'])

/** The secret may come from the environment instead of argv, which `ps` shows to everyone. */
const AUTH_SECRET_ENV = 'TICKSTORM_AUTH_SECRET'

/** Reads a PEM key file; a failure is a usage error naming the file, never its content. */
function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new TickstormError(
      ERROR_CODES.USAGE,
      `--auth-public-key-file: cannot read ${JSON.stringify(path)} (${code})`,
    )
  }
}

/** Parses `flags` (a subset of SERVE_FLAGS) plus --redis/--redis-prefix into options. */
function parseServerFlags(
  args: readonly string[],
  flags: readonly (keyof typeof SERVE_FLAGS)[],
): {
  partial: Record<string, unknown>
  given: OptionSources
  help: boolean
  redis?: string
  prefix: string
  tape?: TapeReplayOptions
} {
  const flagOptions = Object.fromEntries(
    flags.map((flag) => [flag, { type: 'string' as const, multiple: REPEATABLE_FLAGS.has(flag) }]),
  )
  const { values } = parseArgs({
    args: [...args],
    options: {
      ...flagOptions,
      redis: { type: 'string' },
      'redis-prefix': { type: 'string', default: DEFAULT_REDIS_PREFIX },
      ...TAPE_FLAG_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  const partial: Record<string, unknown> = {}
  const given: OptionSources = new Map()
  for (const flag of flags) {
    const [key, parse] = SERVE_FLAGS[flag]
    const raw = (values as Record<string, unknown>)[flag]
    const text = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(',') : undefined
    if (text === undefined) continue
    partial[key] = parse(text)
    // Numbers are echoed as typed ("abc", not NaN); other values as the resolver describes them
    // (a secret only by its length).
    const numeric = parse === integer || parse === number
    given.set(key, numeric ? { name: `--${flag}`, typed: text } : { name: `--${flag}` })
  }
  const tape = tapeOptionsOf(values)
  if (tape !== undefined) {
    const conflicting = [
      // An edge serves the generator's events; `feed --tape --redis` is the generator.
      ...(values.redis === undefined || flags === FEED_FLAGS ? [] : ['redis']),
      ...TAPE_REPLACES.filter((flag) => partial[SERVE_FLAGS[flag][0]] !== undefined),
    ]
    if (conflicting.length > 0) {
      throw new TickstormError(
        ERROR_CODES.USAGE,
        `--${conflicting.join(', --')}: --tape replays the tape's market and events, not the model's`,
      )
    }
  }
  return {
    ...(tape === undefined ? {} : { tape }),
    partial,
    given,
    help: values.help === true,
    ...(values.redis === undefined ? {} : { redis: values.redis }),
    prefix: values['redis-prefix'],
  }
}

export async function serve(argv: readonly string[]): Promise<number> {
  const { workers, typed: typedWorkers, args } = takeWorkersFlag(argv)
  const { partial, given, help, redis, prefix, tape } = parseServerFlags(
    args,
    Object.keys(SERVE_FLAGS) as (keyof typeof SERVE_FLAGS)[],
  )
  if (help) {
    process.stdout.write(SERVE_HELP)
    return EXIT.OK
  }
  if (redis !== undefined) {
    const given = MARKET_FLAGS.filter((flag) => partial[SERVE_FLAGS[flag][0]] !== undefined)
    if (given.length > 0) {
      throw new TickstormError(
        ERROR_CODES.USAGE,
        `--${given.join(', --')}: an edge serves the generator's market; give these to \`tickstorm feed\``,
      )
    }
  }
  const envSecret = process.env[AUTH_SECRET_ENV]
  if (partial['authSecret'] === undefined && envSecret !== undefined && envSecret !== '') {
    partial['authSecret'] = envSecret
    given.set('authSecret', { name: AUTH_SECRET_ENV })
  }
  if (typedWorkers !== undefined) given.set('workers', { name: '--workers', typed: typedWorkers })

  const server = await namingFlags(given, () =>
    createServer({
      ...(partial as Partial<ServerOptions>),
      workers,
      ...(redis === undefined ? {} : { source: { redis: { url: redis, prefix } } }),
      ...(tape === undefined ? {} : { tape }),
    }),
  )
  const { options } = server
  const origin =
    redis === undefined
      ? `speed ${options.speed}x`
      : `edge of ${redactRedisUrl(redis)}, ${prefix}:events`
  const what =
    tape === undefined
      ? `preset ${options.preset}, seed ${options.seed}, ${origin}`
      : tapeLine(server.feed.describe(), options.speed)
  process.stdout.write(
    `tickstorm serving ${server.feed.symbols.length} symbols (${what}) on ${server.url}\n` +
      `  try: curl -N '${server.url}/v1/stream?symbols=${server.feed.symbols[0]}'\n` +
      authLine(options) +
      (options.corsOrigins[0] === '*' ? '' : `  cors: ${options.corsOrigins.join(', ')}\n`) +
      HTTP11_ONLY_NOTICE,
  )

  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`tickstorm: ${signal} again, exiting at once\n`)
        resolve(EXIT.CRASH)
        return
      }
      stopping = true
      const connections = server.stats().sse.connections
      process.stdout.write(`tickstorm: ${signal}: draining ${connections} stream(s)\n`)
      void server.close().then(() => resolve(EXIT.OK))
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    // A worker thread died (the cluster has drained the others), or the source stopped: say so
    // and exit 1.
    server.onFailure((error) => {
      process.stderr.write(`tickstorm: ${error.message} [${error.code}]\n`)
      resolve(EXIT.CRASH)
    })
  })
}

export async function feed(args: readonly string[]): Promise<number> {
  const { partial, given, help, redis, prefix, tape } = parseServerFlags(args, FEED_FLAGS)
  if (help) {
    process.stdout.write(FEED_HELP)
    return EXIT.OK
  }
  if (redis === undefined) {
    process.stderr.write(`tickstorm feed: --redis <url> is required\n\n${FEED_HELP}`)
    return EXIT.USAGE
  }
  // The server's resolver checks the market and pacing flags, every problem at once.
  const options = await namingFlags(given, async () =>
    resolveServerOptions(partial as Partial<ServerOptions>),
  )
  const replay = tape === undefined ? undefined : await openTapeMarket(tape)
  const publisher = await openRedisFeed({
    url: redis,
    prefix,
    market: marketOptionsOf(options),
    feed: pick(options, FEED_OPTION_KEYS),
    ...(replay === undefined ? {} : { tape: replay }),
  }).catch(async (error: unknown) => {
    await replay?.close()
    throw error
  })
  const { market } = publisher
  const first = publisher.stats().continuedAfter
  const what =
    replay === undefined
      ? `preset ${market.preset}, seed ${market.seed}, ${market.ratePerSec} events/s midday`
      : tapeLine(replay.describe(), options.speed)
  process.stdout.write(
    `tickstorm feed: ${publisher.feed.symbols.length} symbols (${what}) into ${publisher.url}, ${prefix}:events` +
      (first === 0 ? ', from event 1\n' : `, continuing after event ${first}\n`),
  )
  publisher.start()
  const tty = process.stderr.isTTY === true
  const status = setInterval(() => {
    const s = publisher.stats()
    const line = `event ${s.headSeq}, ${s.written - first} written${s.pendingFrames > 0 ? `, ${s.pendingFrames} frames waiting` : ''}${s.dropped > 0 ? `, ${s.dropped} dropped` : ''}, redis ${s.redisUp ? 'up' : 'DOWN'}`
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`)
  }, 5000)
  status.unref()
  // A write Redis refused: the generator goes on (the edges still read what it wrote), and the
  // exit code says so once it is stopped.
  let failed = false
  publisher.onFailure(() => {
    failed = true
  })
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      clearInterval(status)
      process.stdout.write(`${tty ? '\n' : ''}tickstorm feed: ${signal}: writing what is pending\n`)
      void publisher.close().then(() => resolve(failed ? EXIT.CRASH : EXIT.OK))
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}

/**
 * uWebSockets.js parses HTTP/1.1 only and answers nothing else, not even with an error: an
 * HTTP/1.0 request (ApacheBench, curl --http1.0, nginx's default proxy_pass) is held until the
 * idle timeout and closed without a byte, which nginx turns into a 502. Said at start-up, where
 * the person who will put a proxy in front reads it (README "Limits").
 */
const HTTP11_ONLY_NOTICE =
  '  note: HTTP/1.1 only: HTTP/1.0 requests (ab, curl --http1.0, nginx without "proxy_http_version 1.1;") get no answer (README "Limits")\n'

/** The replay's part of the start-up line: the tape, its format and where it starts. */
function tapeLine(source: Readonly<Record<string, unknown>>, speed: number): string {
  return `replaying ${String(source['format'])} tape ${String(source['path'])} from ${formatTapeTime(Number(source['startNs']))}, speed ${speed}x`
}

/** Says which tokens the server takes, never the key. */
function authLine(options: ServerOptions): string {
  const kinds = [
    ...(options.authSecret === undefined ? [] : ['HS256']),
    ...(options.authPublicKey === undefined ? [] : ['a public key (RS256/ES256)']),
  ]
  return kinds.length === 0 ? '' : `  auth: tokens required, signed with ${kinds.join(' or ')}\n`
}
