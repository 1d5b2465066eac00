import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { afterAll } from 'vitest'
import { freePort } from './free-port.js'

/** Debian's redis-server; `.ci/run` installs it, and a missing one fails the suite (never skips). */
export const REDIS_SERVER = '/usr/bin/redis-server'

export interface TestRedis {
  readonly url: string
  readonly port: number
  /** Kills the server (SIGKILL): a crash, with nothing saved. */
  kill(): Promise<void>
  /** Starts it again on the same port, empty (no persistence): a restart after a crash. */
  start(): Promise<void>
}

const running = new Set<ChildProcess>()

/** A real redis-server on a free port of 127.0.0.1, without persistence, stopped after the file. */
export async function startRedis(): Promise<TestRedis> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run does)`)
  }
  const port = await freePort()
  let child: ChildProcess | null = null
  const start = async (): Promise<void> => {
    const process = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    running.add(process)
    child = process
    let output = ''
    await new Promise<void>((resolve, reject) => {
      process.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('Ready to accept connections')) resolve()
      })
      process.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${output}`)))
    })
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      const current = child
      if (current === null || current.exitCode !== null) return
      const exited = new Promise((resolve) => current.once('exit', resolve))
      current.kill('SIGKILL')
      await exited
      running.delete(current)
    },
    start,
  }
}

afterAll(() => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL')
  running.clear()
})
