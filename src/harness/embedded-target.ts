import { type ChildProcess, spawn } from 'node:child_process'
import { createServer as createNetServer } from 'node:net'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { ServerProcess } from './server-process.js'

export interface EmbeddedServerOptions {
  /** Path of `bin/tickstorm.js`. */
  readonly bin: string
  readonly preset: string
  readonly seed: number
  readonly frameMs: number
  readonly speed: number
  readonly symbols?: number | undefined
  readonly ratePerSec?: number | undefined
  readonly retryMs?: number
  /** `serve --workers`: worker threads on the one port (default 1, the plain server). */
  readonly workers?: number
  /** `serve --tape`: replay a recorded tape instead of the model (preset, seed, symbols unused). */
  readonly tape?: EmbeddedTape | undefined
  /** Aborting it while the server starts kills the half-started process and rejects. */
  readonly signal?: AbortSignal | undefined
}

/** The scenario's `server.tape*` keys, as `serve` takes them. */
export interface EmbeddedTape {
  readonly tape: string
  readonly tapeFormat?: string | undefined
  readonly tapeStart?: string | undefined
  readonly tapeSymbols?: readonly string[] | undefined
}

/** A scenario's `server:` block as `serve --tape` options, or undefined when it plays the model. */
export function embeddedTapeOf(
  server:
    | {
        readonly tape?: string | undefined
        readonly tapeFormat?: string | undefined
        readonly tapeStart?: string | undefined
        readonly tapeSymbols?: readonly string[] | undefined
      }
    | null
    | undefined,
): EmbeddedTape | undefined {
  if (server?.tape === undefined) return undefined
  return {
    tape: server.tape,
    tapeFormat: server.tapeFormat,
    tapeStart: server.tapeStart,
    tapeSymbols: server.tapeSymbols,
  }
}

/** The embedded tickstorm server: its pid is the current child (a restart makes a new one). */
export type EmbeddedServer = ServerProcess

/**
 * Every server process this module started and that has not exited yet. A harness that is made to
 * exit at once (a second Ctrl-C, a crash) kills them from its exit path: a server left behind
 * would be re-parented to PID 1 and hold its port until someone finds it.
 */
const live = new Set<ChildProcess>()

/**
 * Kills (SIGKILL: certain, and safe when the process is frozen by a stall fault) every embedded
 * server still running, synchronously, so it works from a process 'exit' handler. Returns their
 * pids.
 */
export function killEmbeddedServers(): number[] {
  const pids: number[] = []
  for (const child of live) {
    if (child.pid !== undefined) pids.push(child.pid)
    child.kill('SIGKILL')
  }
  live.clear()
  return pids
}

/**
 * Our server in a child process, so its CPU and memory are read from /proc apart from the
 * harness's (in one process they could not be told apart). Resolves once it prints its URL.
 *
 * The child runs in a process group of its own (`detached`), so a Ctrl-C at the terminal reaches
 * the harness only: the harness stops its subscribers first and then the server, and the partial
 * measurement is not muddied by a server that began draining on its own.
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  let current = await spawnServer(options, await freePortBelowEphemeral())
  const port = Number(new URL(current.url).port)
  let stopping = false
  let restarting: Promise<void> | undefined
  return {
    url: current.url,
    get pid() {
      return current.child.pid!
    },
    async stop() {
      stopping = true
      // A restart under way would start a server after this stop: let it finish first.
      await restarting?.catch(() => {})
      if (current.child.exitCode === null && current.child.signalCode === null) {
        current.child.kill('SIGTERM')
        // A stalled or frozen server would only see the SIGTERM when it is let go.
        current.child.kill('SIGCONT')
      }
      await current.exited
    },
    freeze() {
      current.child.kill('SIGSTOP')
    },
    stall(ms) {
      const child = current.child
      child.kill('SIGSTOP')
      setTimeout(() => child.kill('SIGCONT'), ms)
    },
    restart() {
      restarting = (async () => {
        current.child.kill('SIGKILL')
        await current.exited
        // The dead process's accepted sockets may hold the port for a moment: retry the bind.
        const deadline = Date.now() + 10_000
        while (!stopping) {
          try {
            current = await spawnServer(options, port)
            return
          } catch (error) {
            if (Date.now() > deadline) throw error
            await new Promise((resolve) => setTimeout(resolve, 200))
          }
        }
      })()
      return restarting
    },
  }
}

/**
 * A free port below Linux's ephemeral range (32768–60999). A server on an ephemeral port can lose
 * it while it restarts: its reconnecting clients pick local ports from the same range, and one of
 * them landing on the server's own port blocks the bind (a self-connection, then TIME_WAIT).
 */
async function freePortBelowEphemeral(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    const free = await new Promise<boolean>((resolve) => {
      const probe = createNetServer()
      probe.once('error', () => resolve(false))
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
    })
    if (free) return port
  }
  return 0
}

interface Spawned {
  readonly child: ChildProcess
  readonly url: string
  readonly exited: Promise<void>
}

function modelArgs(options: EmbeddedServerOptions): string[] {
  const args = ['--preset', options.preset, '--seed', String(options.seed)]
  if (options.symbols !== undefined) args.push('--symbols', String(options.symbols))
  if (options.ratePerSec !== undefined) args.push('--rate', String(options.ratePerSec))
  return args
}

function tapeArgs(tape: EmbeddedTape): string[] {
  const args = ['--tape', tape.tape]
  if (tape.tapeFormat !== undefined) args.push('--tape-format', tape.tapeFormat)
  if (tape.tapeStart !== undefined) args.push('--tape-start', tape.tapeStart)
  if (tape.tapeSymbols !== undefined) args.push('--tape-symbols', tape.tapeSymbols.join(','))
  return args
}

async function spawnServer(options: EmbeddedServerOptions, port: number): Promise<Spawned> {
  const args = [
    options.bin,
    'serve',
    '--port',
    String(port),
    '--frame-ms',
    String(options.frameMs),
    '--speed',
    String(options.speed),
    ...(options.tape === undefined ? modelArgs(options) : tapeArgs(options.tape)),
  ]
  if (options.retryMs !== undefined) args.push('--retry-ms', String(options.retryMs))
  if (options.workers !== undefined) args.push('--workers', String(options.workers))
  const signal = options.signal
  signal?.throwIfAborted()
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  live.add(child)
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child)
      resolve()
    }),
  )
  let output = ''
  const abort = (): void => {
    child.kill('SIGKILL')
  }
  signal?.addEventListener('abort', abort, { once: true })
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /http:\/\/[^\s]+:\d+/.exec(output)
      if (match) resolve(match[0])
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    // 'close', not 'exit': the output streams are drained by then, so the reason is in the message.
    child.once('close', (code) =>
      reject(
        signal?.aborted
          ? signal.reason
          : new TickstormError(
              ERROR_CODES.LISTEN_FAILED,
              `the embedded server exited (code ${code}) before listening:\n${output.trim()}`,
            ),
      ),
    )
  }).finally(() => signal?.removeEventListener('abort', abort))
  return { child, url, exited }
}
