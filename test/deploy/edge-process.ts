import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { waitFor } from '../helpers/wait.js'

const BIN = fileURLToPath(new URL('../../bin/tickstorm.js', import.meta.url))

/** What an edge's `/healthz` says about its streams and sockets (the fields the tests read). */
export interface EdgeHealth {
  readonly headSeq: number
  readonly connections: { readonly sse: number; readonly longpoll: number; readonly ws: number }
  readonly sse: {
    readonly opened: number
    readonly replayHits: number
    readonly deliveries: number
  }
  readonly ws: { readonly opened: number }
  readonly longpoll: { readonly answered: number }
}

export interface Edge {
  readonly pid: number
  readonly url: string
  readonly port: number
  /** The edge's own view, asked directly (not through the proxy). */
  health(): Promise<EdgeHealth>
  /** SIGTERM by PID (the edge drains its streams and exits 0); resolves with the exit code. */
  stop(): Promise<number | null>
}

/**
 * One edge as deployed: `tickstorm serve` from the compiled CLI with plain node, in its own
 * process, on a free port. Lives until `stop()` (the shared cli helper kills after each test;
 * these serve a whole file).
 */
export async function startEdge(args: readonly string[]): Promise<Edge> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code
      resolve(code)
    }),
  )
  const stop = async () => {
    if (exitCode === undefined) process.kill(child.pid!, 'SIGTERM')
    return exited
  }
  const urlLine = /http:\/\/127\.0\.0\.1:(\d+)/
  try {
    await waitFor(
      'the edge to print its URL',
      () => urlLine.test(output) || exitCode !== undefined,
      {
        state: () => output,
      },
    )
  } catch (error) {
    await stop()
    throw error
  }
  const match = urlLine.exec(output)
  if (match === null) throw new Error(`tickstorm serve exited with ${exitCode}: ${output}`)
  const url = match[0]
  return {
    pid: child.pid!,
    url,
    port: Number(match[1]),
    health: async () => (await (await fetch(`${url}/healthz`)).json()) as EdgeHealth,
    stop,
  }
}
