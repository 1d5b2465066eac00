import { type ChildProcess, spawn } from 'node:child_process'
import { ERROR_CODES, TickstormError } from '../errors.js'

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
}

export interface EmbeddedServer {
  readonly url: string
  readonly pid: number
  stop(): Promise<void>
}

/**
 * Our server in a child process, so its CPU and memory are read from /proc apart from the
 * harness's (in one process they could not be told apart). Resolves once it prints its URL.
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const args = [
    options.bin,
    'serve',
    '--port',
    '0',
    '--preset',
    options.preset,
    '--seed',
    String(options.seed),
    '--frame-ms',
    String(options.frameMs),
    '--speed',
    String(options.speed),
  ]
  if (options.symbols !== undefined) args.push('--symbols', String(options.symbols))
  if (options.ratePerSec !== undefined) args.push('--rate', String(options.ratePerSec))
  if (options.retryMs !== undefined) args.push('--retry-ms', String(options.retryMs))
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
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
    child.once('exit', (code) =>
      reject(
        new TickstormError(
          ERROR_CODES.LISTEN_FAILED,
          `the embedded server exited (code ${code}) before listening:\n${output.trim()}`,
        ),
      ),
    )
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}
