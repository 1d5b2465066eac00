import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Run, tickstorm } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'
import { waitForAsync } from '../helpers/wait-async.js'

/**
 * Ctrl-C (SIGINT) or SIGTERM on `tickstorm run`, through the real CLI: the embedded server it
 * spawned must go with it, its port must be free again, and what was measured must be written.
 */

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-interrupt-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function scenario(name: string, transports: string, warmupSec: number): Promise<string> {
  const path = join(dir, `${name}.yaml`)
  await writeFile(
    path,
    `name: ${name}
description: a run to interrupt
target: embedded
server: { preset: normal, seed: 3 }
transports: ${transports}
subscribers: { count: 5, rampPerSec: 100, watchList: { size: 50, pick: zipf } }
warmupSec: ${warmupSec}
durationSec: 60
workers: 1
thresholds: { p99Ms: 5000 }
`,
  )
  return path
}

/** Processes whose parent is `pid`, read from /proc/<pid>/stat (field 4 is the parent's pid). */
function childPids(pid: number): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // The command name (field 2) may hold spaces and parentheses: read after its last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) children.push(Number(entry))
    } catch {
      // The process ended while we looked.
    }
  }
  return children
}

/** The embedded server child of a run: its pid and the port on its command line. */
function embeddedServer(run: Run): { pid: number; port: number } | undefined {
  for (const pid of childPids(run.child.pid!)) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      if (!argv.includes('serve')) continue
      return { pid, port: Number(argv[argv.indexOf('--port') + 1]) }
    } catch {
      // Gone already.
    }
  }
  return undefined
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

/** A progress line past the warm-up whose p99 is a number: events were measured. */
const MEASURED = (transport: string) =>
  new RegExp(`^\\[${transport}\\]  \\d+/\\d+ s  connected 5/5 .* p99 \\d`, 'm')

async function startRun(name: string, transports: string, warmupSec: number) {
  const results = join(dir, `${name}-results`)
  const run = tickstorm(['run', await scenario(name, transports, warmupSec), '--results', results])
  await waitFor('the embedded server child', () => embeddedServer(run) !== undefined, {
    state: () => run.stderr(),
  })
  return { run, results, server: embeddedServer(run)! }
}

async function expectServerGone(server: { pid: number; port: number }): Promise<void> {
  await waitFor(`server pid ${server.pid} to be gone`, () => !alive(server.pid))
  await waitForAsync(`port ${server.port} to be free`, () => portFree(server.port))
}

async function readResult(results: string) {
  const [resultDir] = await readdir(results)
  return JSON.parse(await readFile(join(results, resultDir!, 'result.json'), 'utf8'))
}

type Started = Awaited<ReturnType<typeof startRun>>

/** Waits until `condition` holds of the run's progress output (what it printed, never a delay). */
function waitForProgress(started: Started, what: string, condition: (stderr: string) => boolean) {
  return waitFor(what, () => condition(started.run.stderr()), { state: () => started.run.stderr() })
}

/**
 * Sends `signal`, expects `exitCode`, waits for the embedded server to be gone and its port free,
 * and reads back the result, which must say it was interrupted, where and what was left out.
 */
async function interrupt(
  started: Started,
  signal: NodeJS.Signals,
  exitCode: number,
  interruption: { transport: string; phase: string; notMeasured: string[] },
) {
  const { run, results, server } = started
  run.child.kill(signal)
  expect(await run.exit, run.stderr()).toBe(exitCode)
  await expectServerGone(server)
  const result = await readResult(results)
  expect(result.interrupted).toBe(true)
  expect(result.interruption).toEqual({ signal, ...interruption })
  expect(result.passed).toBe(false)
  return result
}

describe('tickstorm run, interrupted', () => {
  test('SIGINT while measuring: the server is stopped, the partial result written, exit 130', async () => {
    const started = await startRun('sigint', '[sse]', 1)
    await waitForProgress(started, 'a measured progress line', (out) => MEASURED('sse').test(out))
    const result = await interrupt(started, 'SIGINT', 130, {
      transport: 'sse',
      phase: 'measuring',
      notMeasured: [],
    })
    expect(result.transports[0].transport).toBe('sse')
    expect(result.transports[0].deliveries).toBeGreaterThan(0)
    expect(result.transports[0].measuredSec).toBeLessThan(60)
    expect(started.run.stdout()).toMatch(/^INTERRUPTED: SIGINT during the sse measurement/m)
  })

  test('SIGTERM while measuring the first of two transports: exit 143, the second never runs', async () => {
    const started = await startRun('sigterm', '[sse, ws]', 1)
    await waitForProgress(started, 'a measured progress line', (out) => MEASURED('sse').test(out))
    const result = await interrupt(started, 'SIGTERM', 143, {
      transport: 'sse',
      phase: 'measuring',
      notMeasured: ['ws'],
    })
    // No second server was started for ws.
    expect(embeddedServer(started.run)).toBeUndefined()
    expect(result.transports.map((t: { transport: string }) => t.transport)).toEqual(['sse'])
    expect(result.transports[0].deliveries).toBeGreaterThan(0)
  })

  test('SIGINT during the warm-up: nothing measured, still written as interrupted', async () => {
    const started = await startRun('warmup', '[sse]', 60)
    await waitForProgress(started, 'the ramp to finish', (out) =>
      out.includes('5 subscribers connected'),
    )
    const result = await interrupt(started, 'SIGINT', 130, {
      transport: 'sse',
      phase: 'warm-up',
      notMeasured: ['sse'],
    })
    expect(result.transports).toEqual([])
  })

  test('a second signal exits at once, and still takes the server down', async () => {
    const { run, server } = await startRun('twice', '[sse]', 60)
    // Two different signals are never merged into one by the kernel: the second arrives while
    // the first one's orderly stop has barely begun. Both are pending at once, so which one the
    // process handles first is the kernel's and libuv's choice (seen both ways): the run must
    // name the one it handled second, and exit with that one's code.
    run.child.kill('SIGINT')
    run.child.kill('SIGTERM')
    const code = await run.exit
    const first = /tickstorm run: (SIGINT|SIGTERM): stopping/.exec(run.stderr())?.[1]
    const second = /second signal \((SIGINT|SIGTERM)\): exiting at once/.exec(run.stderr())?.[1]
    expect([first, second].sort(), run.stderr()).toEqual(['SIGINT', 'SIGTERM'])
    expect(code, run.stderr()).toBe(second === 'SIGTERM' ? 143 : 130)
    await expectServerGone(server)
  })
})
