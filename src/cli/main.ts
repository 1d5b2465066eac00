import { parseArgs } from 'node:util'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { PresetName } from '../market/types.js'
import { createServer } from '../server/server.js'
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from '../server/server-options.js'

/**
 * Exit codes, documented in the README: 0 ok, 1 crash, 2 bad command line or options.
 * (Scenario runs will add 3 for failed thresholds.)
 */
export const EXIT = Object.freeze({ OK: 0, CRASH: 1, USAGE: 2 })

const MAIN_HELP = `tickstorm — live market data over HTTP (SSE), and a harness to measure it

Usage:
  tickstorm serve [options]     serve the simulated market over SSE, long polling, WebSocket
  tickstorm <command> --help    options of a command

Exit codes: 0 ok, 1 crash, 2 bad command line or options.
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
  -h, --help             this text

Endpoints: GET /v1/stream?symbols=AAPL,MSFT (SSE), POST /v1/stream, GET /v1/poll (long
polling), /v1/ws (WebSocket), GET /v1/snapshot, GET /v1/symbols, GET /healthz.
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
} as const satisfies Record<string, readonly [keyof ServerOptions, (value: string) => unknown]>

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
  if (command === 'serve') return serve(rest)
  process.stderr.write(`tickstorm: unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`)
  return EXIT.USAGE
}

async function serve(args: readonly string[]): Promise<number> {
  const flagOptions = Object.fromEntries(
    Object.keys(SERVE_FLAGS).map((flag) => [flag, { type: 'string' as const }]),
  )
  const { values } = parseArgs({
    args: [...args],
    options: { ...flagOptions, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) {
    process.stdout.write(SERVE_HELP)
    return EXIT.OK
  }
  const partial: Record<string, unknown> = {}
  for (const [flag, [key, parse]] of Object.entries(SERVE_FLAGS)) {
    const raw = (values as Record<string, unknown>)[flag]
    if (typeof raw === 'string') partial[key] = parse(raw)
  }

  const server = await createServer(partial as Partial<ServerOptions>)
  const { options } = server
  process.stdout.write(
    `tickstorm serving ${server.feed.symbols.length} symbols (preset ${options.preset}, seed ${options.seed}, speed ${options.speed}x) on ${server.url}\n` +
      `  try: curl -N '${server.url}/v1/stream?symbols=${server.feed.symbols[0]}'\n`,
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
  })
}

/** Runs `main` as the process: the only place that calls process.exit. */
export function run(argv: readonly string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof TickstormError) {
        process.stderr.write(`tickstorm: ${error.message} [${error.code}]\n`)
        const usage = error.code === ERROR_CODES.INVALID_OPTIONS || error.code === ERROR_CODES.USAGE
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
