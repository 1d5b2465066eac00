import { execFileSync } from 'node:child_process'
import { readFileSync, realpathSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { constants } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ERROR_CODES, TickstormError } from '../errors.js'
import { openRedisFeed } from '../feed/redis-publisher.js'
import { DEFAULT_REDIS_PREFIX, redactRedisUrl } from '../feed/redis-stream.js'
import { killEmbeddedServers } from '../harness/embedded-target.js'
import { type RunOutcome, type RunProgress, runScenario } from '../harness/runner.js'
import { INVALID_SCENARIO, loadScenario } from '../harness/scenario.js'
import { parseSegment } from '../harness/segment.js'
import type { PresetName } from '../market/types.js'
import { compareResults, formatComparison, renderComparisonHtml } from '../report/compare.js'
import { formatCount, formatProgressLine, formatRunSummary } from '../report/console.js'
import { renderReportHtml } from '../report/html.js'
import { mergeResultDirs } from '../report/merge.js'
import { readResultDir } from '../report/read-result.js'
import { INVALID_RESULT } from '../report/result-schema.js'
import { createServerOrCluster } from '../server/cluster.js'
import { createEdgeCluster, createEdgeServer } from '../server/edge-server.js'
import {
  DEFAULT_SERVER_OPTIONS,
  FEED_OPTION_KEYS,
  marketOptionsOf,
  pick,
  resolveServerOptions,
  type ServerOptions,
} from '../server/server-options.js'
import { takeWorkersFlag } from './workers-flag.js'

/**
 * Exit codes, documented in the README (k6-style, so CI can gate on a run): 0 ok, 1 crash (or a
 * URL target that does not answer), 2 bad command line, options, scenario or result file,
 * 3 thresholds failed or the run was invalid or interrupted; a `run` stopped by a signal exits
 * 128 + its number, as a shell reports it (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
 */
export const EXIT = Object.freeze({ OK: 0, CRASH: 1, USAGE: 2, FAILED: 3 })

/** The signals that stop a run: each is answered by writing what was measured. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** 128 + the signal's number: what a shell shows for a process its signal ended. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal]
}

const MAIN_HELP = `tickstorm — live market data over HTTP (SSE), and a harness to measure it

Usage:
  tickstorm serve [options]          serve the simulated market over SSE, long polling, WebSocket
  tickstorm feed --redis <url>       run the market into a Redis Stream, for edges on other hosts
  tickstorm run <scenario.yaml>      run a load scenario; writes results/<stamp>-<name>/
  tickstorm compare <dirA> <dirB>    baseline vs candidate, on full histograms
  tickstorm report <dir>             print a result's tables and re-render its report.html
  tickstorm merge <dir> <dir> ...    add up the results of several harness hosts (run --segment)
  tickstorm <command> --help         options of a command
  tickstorm --version                version (and commit, in a git checkout)

Exit codes: 0 ok, 1 crash or an unreachable target, 2 bad command line, options, scenario or
result file, 3 a scenario's thresholds failed (or the run was invalid: the harness was
saturated; or interrupted), 130/143 a run stopped by SIGINT (Ctrl-C)/SIGTERM.
`

const RUN_HELP = `Usage: tickstorm run <scenario.yaml> [--workers N] [--results DIR] [--segment i/n]

Runs a load scenario (see scenarios/): per transport it starts the target (a fresh embedded
server in a child process, or the scenario's URL), ramps the subscribers up, warms up, measures,
and writes results/<utc-stamp>-<name>/ with result.json, one HDR interval log per transport
and report.html. Prints a live progress line and a table per transport.

Options:
  --workers <n>    harness worker threads (default: the scenario's, auto = one per core)
  --results <dir>  where result directories go (default results)
  --segment <i/n>  run only share i of n of every subscriber count and connect rate, for n
                   harness hosts against the scenario's URL target (not an embedded one);
                   the n shares add up exactly. Then: tickstorm merge <their results>
  -h, --help       this text

Ctrl-C (SIGINT) or SIGTERM stops the subscribers and the embedded server, writes what was
measured so far marked interrupted (never a pass), prints the tables and exits 130 (SIGINT) or
143 (SIGTERM); a second signal exits at once (the server is still killed).

Exit code 3 when a threshold fails or the run was invalid (the harness, not the server, was
saturated); 2 for an invalid or unreadable scenario (every problem listed with its path and
value); 1 when the scenario's URL target does not answer (TS_ERR_TARGET_UNREACHABLE).
`

const COMPARE_HELP = `Usage: tickstorm compare <baselineDir> <candidateDir> [--html FILE]

Compares two result directories transport by transport on their full latency histograms
(p50, p90, p99, p99.9, max) and deliveries/s, with the change and a verdict; --html writes a
page with the two percentile distributions overlaid. Exit code 3 when the candidate regressed.
`

const MERGE_HELP = `Usage: tickstorm merge <dir> <dir> [...] [--out DIR] [--force]

Adds up the result directories of several harness hosts that ran one scenario against one
target, each with run --segment i/n, into one result directory (result.json, one HDR
interval log per transport, report.html) that report and compare read like any other.
Latency histograms are added per transport and per interval (never percentiles averaged),
counts summed, rates recomputed over the window all hosts measured; the merged run is invalid
if any host's was, and says which.

Refused, every problem listed (exit 2): runs of different scenarios, targets or transports;
an embedded target; a capacity search; segments that overlap, differ in n or leave one out;
measurements that never overlapped in time; runs made without --segment, unless --force.

Options:
  --out <dir>      where the merged directory goes (default results/<stamp>-<name>-merged)
  --force          merge runs made without --segment: each carried the whole scenario, so the
                   target had n times its load (the merged run asks for n times the subscribers)
  -h, --help       this text

Exit code 3 when the merged run fails a threshold of the scenario or is invalid.
`

const REPORT_HELP = `Usage: tickstorm report <dir>

Validates a result directory, prints its tables, and renders its report.html again.
Exits as the run did: 3 when it failed a threshold, was invalid or was interrupted.
`

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
  -h, --help             this text

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

/** `tickstorm feed` takes the market flags and the replay window (which trims the stream). */
const FEED_FLAGS = [...MARKET_FLAGS, 'history', 'history-bytes'] as const

const FEED_HELP = `Usage: tickstorm feed --redis <url> [options]

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
  -h, --help             this text

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

function integer(value: string): number {
  return /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN
}

function number(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value)
}

/** Parses and runs a command line; resolves to an exit code (the server resolves on shutdown). */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(MAIN_HELP)
    return command === undefined ? EXIT.USAGE : EXIT.OK
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`${versionLine()}\n`)
    return EXIT.OK
  }
  if (command === 'serve') return serve(rest)
  if (command === 'feed') return feed(rest)
  if (command === 'run') return run(rest)
  if (command === 'compare') return compare(rest)
  if (command === 'report') return report(rest)
  if (command === 'merge') return merge(rest)
  process.stderr.write(`tickstorm: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`)
  return EXIT.USAGE
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
  return {
    partial,
    given,
    help: values.help === true,
    ...(values.redis === undefined ? {} : { redis: values.redis }),
    prefix: values['redis-prefix'],
  }
}

async function serve(argv: readonly string[]): Promise<number> {
  const { workers, typed: typedWorkers, args } = takeWorkersFlag(argv)
  const { partial, given, help, redis, prefix } = parseServerFlags(
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
    redis === undefined
      ? createServerOrCluster(partial as Partial<ServerOptions>, workers)
      : workers === 1
        ? createEdgeServer(partial as Partial<ServerOptions>, { url: redis, prefix })
        : createEdgeCluster(partial as Partial<ServerOptions>, workers, { url: redis, prefix }),
  )
  const { options } = server
  const origin =
    redis === undefined
      ? `speed ${options.speed}x`
      : `edge of ${redactRedisUrl(redis)}, ${prefix}:events`
  process.stdout.write(
    `tickstorm serving ${server.feed.symbols.length} symbols (preset ${options.preset}, seed ${options.seed}, ${origin}) on ${server.url}\n` +
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
    // A worker thread died: the cluster has drained the others; say so and exit 1.
    if ('onFailure' in server) {
      server.onFailure((error) => {
        process.stderr.write(`tickstorm: ${error.message} [${error.code}]\n`)
        resolve(EXIT.CRASH)
      })
    }
  })
}

async function feed(args: readonly string[]): Promise<number> {
  const { partial, given, help, redis, prefix } = parseServerFlags(args, FEED_FLAGS)
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
  const publisher = await openRedisFeed({
    url: redis,
    prefix,
    market: marketOptionsOf(options),
    feed: pick(options, FEED_OPTION_KEYS),
  })
  const { market } = publisher
  const first = publisher.stats().continuedAfter
  process.stdout.write(
    `tickstorm feed: ${market.symbols} symbols (preset ${market.preset}, seed ${market.seed}, ${market.ratePerSec} events/s midday) into ${publisher.url}, ${prefix}:events` +
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
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      clearInterval(status)
      process.stdout.write(`${tty ? '\n' : ''}tickstorm feed: ${signal}: writing what is pending\n`)
      void publisher.close().then(() => resolve(process.exitCode === 1 ? EXIT.CRASH : EXIT.OK))
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

/** Says which tokens the server takes, never the key. */
function authLine(options: ServerOptions): string {
  const kinds = [
    ...(options.authSecret === undefined ? [] : ['HS256']),
    ...(options.authPublicKey === undefined ? [] : ['a public key (RS256/ES256)']),
  ]
  return kinds.length === 0 ? '' : `  auth: tokens required, signed with ${kinds.join(' or ')}\n`
}

async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      workers: { type: 'string' },
      results: { type: 'string', default: 'results' },
      segment: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(RUN_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 1) {
    process.stderr.write(`tickstorm run: give exactly one scenario file\n\n${RUN_HELP}`)
    return EXIT.USAGE
  }
  const file = positionals[0]!
  // Checked before the scenario is read: a typo in the flag is reported as such.
  const segment = values.segment === undefined ? undefined : parseSegment(values.segment)
  const scenario = await loadScenario(file)
  const workers = values.workers === undefined ? undefined : integer(values.workers)
  if (workers !== undefined && !(workers >= 0 && workers <= 256)) {
    process.stderr.write(`tickstorm run: --workers must be from 0 to 256, got ${values.workers}\n`)
    return EXIT.USAGE
  }
  const tty = process.stderr.isTTY === true
  let lastPrintMs = 0
  const say = (line: string): void => {
    process.stderr.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`)
  }
  const onProgress = (progress: RunProgress): void => {
    if (progress.allConnectedSec !== null) {
      // Worth keeping on screen: how long the server took to take the whole ramp.
      const took = `[${progress.transport}]  ${formatCount(progress.connected)} subscribers connected in ${progress.allConnectedSec.toFixed(2)} s`
      process.stderr.write(tty ? `\r${took}\x1b[K\n` : `${took}\n`)
      return
    }
    const line = formatProgressLine({ ...progress })
    if (tty) process.stderr.write(`\r${line}\x1b[K`)
    else if (Date.now() - lastPrintMs >= 5000) {
      lastPrintMs = Date.now()
      process.stderr.write(`${line}\n`)
    }
  }
  // k6's way: the first signal stops the run and keeps what it measured; a second one exits at
  // once. Either way the embedded server goes too (the exit handler in runCli kills what is left).
  const stop = new AbortController()
  let forced: (code: number) => void = () => {}
  const forcedExit = new Promise<number>((resolve) => {
    forced = resolve
  })
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      say(`tickstorm run: second signal (${signal}): exiting at once`)
      forced(signalExitCode(signal))
      return
    }
    say(
      `tickstorm run: ${signal}: stopping the subscribers and the server, then writing what was measured (again to exit at once)`,
    )
    stop.abort(signal)
  }
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal)
  let outcome: RunOutcome | number
  try {
    outcome = await Promise.race([
      runScenario(scenario, {
        serverBin: fileURLToPath(new URL('../../../bin/tickstorm.js', import.meta.url)),
        scenarioFile: file,
        resultsDir: values.results,
        commit: packageCommit() ?? 'unknown',
        onProgress,
        onTarget: (url, target) => {
          if (target.pid !== null)
            say(`[${target.transport}]  embedded server pid ${target.pid} on ${url}`)
        },
        signal: stop.signal,
        ...(workers === undefined ? {} : { workers }),
        ...(segment === undefined ? {} : { segment }),
      }),
      forcedExit,
    ])
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal)
  }
  if (typeof outcome === 'number') return outcome
  if (tty) process.stderr.write('\n')
  process.stdout.write(`${formatRunSummary(outcome.result)}\n\nresults: ${outcome.dir}\n`)
  if (stop.signal.aborted) return signalExitCode(stop.signal.reason as NodeJS.Signals)
  return outcome.result.passed ? EXIT.OK : EXIT.FAILED
}

async function compare(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { html: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(COMPARE_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 2) {
    process.stderr.write(`tickstorm compare: give two result directories\n\n${COMPARE_HELP}`)
    return EXIT.USAGE
  }
  const [baseline, candidate] = await Promise.all(positionals.map((dir) => readResultDir(dir)))
  const comparison = compareResults(baseline!, candidate!)
  process.stdout.write(`${formatComparison(comparison)}\n`)
  if (values.html !== undefined) {
    await writeFile(values.html, renderComparisonHtml(comparison))
    process.stdout.write(`\ncomparison page: ${values.html}\n`)
  }
  return comparison.transports.some((transport) => transport.regression) ? EXIT.FAILED : EXIT.OK
}

async function merge(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      out: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(MERGE_HELP)
    return EXIT.OK
  }
  if (positionals.length < 2) {
    process.stderr.write(`tickstorm merge: give two or more result directories\n\n${MERGE_HELP}`)
    return EXIT.USAGE
  }
  const outcome = await mergeResultDirs(positionals, {
    ...(values.out === undefined ? {} : { outDir: values.out }),
    force: values.force === true,
  })
  for (const warning of outcome.warnings) {
    process.stderr.write(`tickstorm merge: warning: ${warning}\n`)
  }
  process.stdout.write(`${formatRunSummary(outcome.result)}\n\nresults: ${outcome.dir}\n`)
  return outcome.result.passed ? EXIT.OK : EXIT.FAILED
}

async function report(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  })
  if (values.help) {
    process.stdout.write(REPORT_HELP)
    return EXIT.OK
  }
  if (positionals.length !== 1) {
    process.stderr.write(`tickstorm report: give one result directory\n\n${REPORT_HELP}`)
    return EXIT.USAGE
  }
  const loaded = await readResultDir(positionals[0]!)
  const path = join(loaded.dir, 'report.html')
  await writeFile(path, renderReportHtml(loaded.result))
  process.stdout.write(`${formatRunSummary(loaded.result)}\n\nreport: ${path}\n`)
  // As `run` exited, so CI can gate on a result it did not run itself.
  return loaded.result.passed ? EXIT.OK : EXIT.FAILED
}

/** Where an option came from: the flag (or variable) that set it, and the text typed. */
type OptionSources = Map<string, { readonly name: string; readonly typed?: string }>

/**
 * The option resolvers name problems by option key (`frameMs`), and a flag that is not a number
 * reaches them as NaN; the user typed `--frame-ms abc`. This says each problem in the user's
 * words: the flag (or environment variable) and, for numbers, the text as typed.
 */
async function namingFlags<T>(given: OptionSources, resolve: () => Promise<T>): Promise<T> {
  try {
    return await resolve()
  } catch (error) {
    const problems = error instanceof TickstormError ? error.details?.['problems'] : undefined
    if (
      !(error instanceof TickstormError) ||
      error.code !== ERROR_CODES.INVALID_OPTIONS ||
      !Array.isArray(problems)
    ) {
      throw error
    }
    const named = (problems as string[]).map((problem) => {
      const match = /^`([^`]+)` ([\s\S]*)$/.exec(problem)
      if (match === null) return problem
      const [, path, rest] = match as unknown as [string, string, string]
      // `corsOrigins[1]` is the --cors-origin flag; its problem shows the one bad origin.
      const key = /^[^.[]+/.exec(path)![0]
      const source = given.get(key)
      if (source === undefined) return problem
      const said =
        source.typed !== undefined && key === path
          ? rest.replace(/, got [^,]*$/, `, got ${JSON.stringify(source.typed)}`)
          : rest
      return `${source.name} ${said}`
    })
    const head = error.message.split('\n', 1)[0]
    throw new TickstormError(error.code, `${head}\n  - ${named.join('\n  - ')}`, {
      cause: error,
      details: { ...error.details, problems: named },
    })
  }
}

/** The root of this package: dist/src/cli/main.js → ../../../ */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/**
 * The commit of this tickstorm's own checkout (recorded in every result, shown by --version), or
 * null when it is not one: an installed package inside someone else's repository must not report
 * that repository's commit, so the checkout's top level must be this package's root.
 */
function packageCommit(): string | null {
  try {
    const [top, commit] = execFileSync(
      'git',
      ['-C', PACKAGE_ROOT, 'rev-parse', '--show-toplevel', '--short', 'HEAD'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    )
      .toString()
      .trim()
      .split('\n')
    if (top === undefined || commit === undefined) return null
    return realpathSync(top) === realpathSync(PACKAGE_ROOT) ? commit : null
  } catch {
    return null
  }
}

/** `tickstorm 0.1.0 (commit e8df0f8, Node v20.20.2)`: what to paste into a bug report. */
function versionLine(): string {
  const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    version: string
  }
  const commit = packageCommit()
  return `tickstorm ${version} (${commit === null ? '' : `commit ${commit}, `}Node ${process.version})`
}

/** Runs `main` as the process: the only place that calls process.exit. */
export function runCli(argv: readonly string[]): void {
  // However the process ends (a crash, a second Ctrl-C), no embedded server outlives it.
  process.on('exit', () => {
    killEmbeddedServers()
  })
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof TickstormError) {
        process.stderr.write(`tickstorm: ${error.message} [${error.code}]\n`)
        const usage =
          error.code === ERROR_CODES.INVALID_OPTIONS ||
          error.code === ERROR_CODES.USAGE ||
          error.code === INVALID_SCENARIO ||
          error.code === INVALID_RESULT ||
          error.code === ERROR_CODES.FEED_MISMATCH
        process.exit(usage ? EXIT.USAGE : EXIT.CRASH)
      }
      if (
        error instanceof Error &&
        'code' in error &&
        String(error.code).startsWith('ERR_PARSE_ARGS')
      ) {
        process.stderr.write(`tickstorm: ${error.message} (see --help)\n`)
        process.exit(EXIT.USAGE)
      }
      process.stderr.write(
        `tickstorm: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      )
      process.exit(EXIT.CRASH)
    },
  )
}
