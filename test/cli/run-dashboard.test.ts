import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { EventSource } from 'eventsource'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { dashboardArgs } from '../../src/cli/dashboard-run.js'
import { tickstorm } from '../helpers/cli.js'
import { freePort } from '../helpers/free-port.js'
import { waitFor } from '../helpers/wait.js'

/**
 * `tickstorm run --dashboard`, through the real CLI on a tiny embedded scenario: the URL it
 * prints, live frames with deliveries over the browser's protocol (the `eventsource` package),
 * the verdict at the end, and the process ending by itself (stdin is not a terminal here).
 */

let dir: string
const sources: EventSource[] = []
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-run-dashboard-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})
afterEach(() => {
  for (const source of sources.splice(0)) source.close()
})

const TINY = `name: tiny-dashboard
description: a tiny run watched on the dashboard
target: embedded
server: { preset: normal, seed: 5 }
transports: [sse, ws]
subscribers: { count: 20, rampPerSec: 400, watchList: { size: 8 } }
warmupSec: 1
durationSec: 3
workers: 1
thresholds: { p99Ms: 5000 }
`

interface Frame {
  transport: string
  measuring: boolean
  connected: number
  deliveriesPerSec: number
  last: { p50: number; p99: number } | null
  harness: { cpuPercent: number; eventLoopP99Ms: number } | null
}

const shellQuote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`

/**
 * The dashboard's verdict is the CLI's. A tiny run passes unless this shared machine is so busy
 * that the harness judges itself saturated (exit 3, every reason "invalid"): that is the harness
 * doing its job, not the dashboard failing, so it is accepted, and nothing else is.
 */
function expectVerdict(
  code: number | null,
  done: { label: string; passed: boolean; reasons: readonly string[] },
  stdout: string,
): void {
  if (code === 0) {
    expect(done).toMatchObject({ label: 'PASSED', passed: true, reasons: [] })
    return
  }
  expect(code, stdout).toBe(3)
  expect(done.label).toBe('FAILED')
  expect(done.reasons.length).toBeGreaterThan(0)
  for (const reason of done.reasons) expect(reason).toMatch(/invalid \(the harness/)
  expect(stdout).toContain(`FAILED: ${done.reasons.join('; ')}`)
}

describe('tickstorm run --dashboard', () => {
  test('prints the URL, pushes live frames with deliveries, then the verdict, and exits by itself', async () => {
    const file = join(dir, 'tiny.yaml')
    await writeFile(file, TINY)
    const results = join(dir, 'results')
    const run = tickstorm(['run', file, '--dashboard', '0', '--results', results])
    await waitFor('the dashboard URL on stdout', () => /dashboard: http:\/\//.test(run.stdout()), {
      state: () => run.stderr(),
      timeoutMs: 20_000,
    })
    const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.stdout())![1]!
    const frames: Frame[] = []
    const done: {
      label: string
      passed: boolean
      reasons: string[]
      report: string
      resultDir: string
    }[] = []
    const hellos: { runId: string | null }[] = []
    const source = new EventSource(`${url}events`)
    sources.push(source)
    source.addEventListener('hello', (event) => hellos.push(JSON.parse(event.data)))
    source.addEventListener('frame', (event) => frames.push(JSON.parse(event.data)))
    source.addEventListener('done', (event) => {
      done.push(JSON.parse(event.data))
      source.close()
    })
    await waitFor(
      'a measuring frame with deliveries on both transports',
      () =>
        ['sse', 'ws'].every((transport) =>
          frames.some(
            (frame) =>
              frame.transport === transport && frame.measuring && frame.deliveriesPerSec > 0,
          ),
        ),
      { timeoutMs: 30_000, state: () => frames.map((frame) => frame.deliveriesPerSec) },
    )
    await waitFor('the done event', () => done.length === 1, { timeoutMs: 30_000 })
    const code = await run.exit
    const measuring = frames.filter((frame) => frame.measuring)
    // A frame a second per transport: 3 s measured each, give or take the edges.
    expect(measuring.length).toBeGreaterThanOrEqual(4)
    for (const frame of measuring) {
      expect(frame.connected).toBe(20)
      expect(frame.last!.p50).toBeGreaterThan(0)
      expect(frame.last!.p99).toBeGreaterThanOrEqual(frame.last!.p50)
      expect(frame.harness!.cpuPercent).toBeGreaterThan(0)
    }
    const resultDir = /results: (.+)$/m.exec(run.stdout())![1]!
    expect(done[0]).toMatchObject({ resultDir, report: '/report.html' })
    expectVerdict(code, done[0]!, run.stdout())
    expect(existsSync(join(resultDir, 'report.html'))).toBe(true)
    // The page names the run as result.json does, from its first event on.
    const result = JSON.parse(await readFile(join(resultDir, 'result.json'), 'utf8'))
    expect(hellos[0]?.runId).toBe(result.runId)
    // Not a terminal: no "still at", and the dashboard is gone with the process.
    expect(run.stdout()).not.toContain('still at')
    await expect(fetch(url)).rejects.toThrow()
  }, 90_000)

  test('at a terminal it stays up after the run, serving the page and report.html, until Ctrl-C', async () => {
    const file = join(dir, 'tty.yaml')
    await writeFile(
      file,
      TINY.replace('[sse, ws]', '[sse]').replace('durationSec: 3', 'durationSec: 2'),
    )
    const bin = fileURLToPath(new URL('../../bin/tickstorm.js', import.meta.url))
    const command = [
      process.execPath,
      bin,
      'run',
      file,
      '--dashboard',
      '0',
      '--results',
      join(dir, 'tty-results'),
    ]
    const { child, output, exit } = atTerminal(command)
    const out = (): string => output()
    try {
      const url = await stillAt(out, '"still at" after the run')
      const report = await fetch(`${url}report.html`)
      expect(report.status).toBe(200)
      expect(await report.text()).toContain('tiny-dashboard')
      // A tab opened now still gets the whole run and its verdict.
      const done: string[] = []
      const source = new EventSource(`${url}events`)
      sources.push(source)
      source.addEventListener('done', (event) => done.push(JSON.parse(event.data).label))
      await waitFor('the verdict for a tab opened after the run', () => done.length === 1)
      child.stdin.write('\x03')
      const code = await exit
      expect([0, 3], out().slice(-2000)).toContain(code)
      expect(done).toEqual([code === 0 ? 'PASSED' : 'FAILED'])
      await expect(fetch(url)).rejects.toThrow()
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  }, 90_000)

  test('a run that cannot start (its target unreachable) sends a FAILED done saying why', async () => {
    const file = join(dir, 'unreachable.yaml')
    const port = await freePort()
    await writeFile(
      file,
      TINY.replace('target: embedded', `target: { url: "http://127.0.0.1:${port}" }`)
        .replace('server: { preset: normal, seed: 5 }\n', '')
        .replace('[sse, ws]', '[sse]'),
    )
    const bin = fileURLToPath(new URL('../../bin/tickstorm.js', import.meta.url))
    // At a terminal, so the page stays up after the failure and a tab can read it at leisure.
    const { child, output, exit } = atTerminal([
      process.execPath,
      bin,
      'run',
      file,
      '--dashboard',
      '0',
      '--results',
      join(dir, 'unreachable-results'),
    ])
    try {
      const url = await stillAt(output, '"still at" after the failure')
      const done: { label: string; passed: boolean; reasons: string[]; report: string | null }[] =
        []
      const source = new EventSource(`${url}events`)
      sources.push(source)
      source.addEventListener('done', (event) => done.push(JSON.parse(event.data)))
      await waitFor('the failure for a tab opened after it', () => done.length === 1)
      expect(done[0]).toMatchObject({ label: 'FAILED', passed: false, report: null })
      expect(done[0]!.reasons).toHaveLength(1)
      expect(done[0]!.reasons[0]).toContain(`cannot reach the target http://127.0.0.1:${port}`)
      expect(done[0]!.reasons[0]).toContain('[TS_ERR_TARGET_UNREACHABLE]')
      // No result to link: report.html is not served.
      expect((await fetch(`${url}report.html`)).status).toBe(404)
      child.stdin.write('\x03')
      // The error still ends the command with its own exit code, after the page.
      expect(await exit, output().slice(-2000)).toBe(1)
      expect(output()).toContain('[TS_ERR_TARGET_UNREACHABLE]')
      await expect(fetch(url)).rejects.toThrow()
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  }, 90_000)

  test('a bad port exits 2 naming the flag; --help documents it', async () => {
    const file = join(dir, 'bad.yaml')
    await writeFile(file, TINY)
    const ports = ['70000', 'abc']
    const runs = ports.map((port) => tickstorm(['run', file, `--dashboard=${port}`]))
    for (const [index, run] of runs.entries()) {
      expect(await run.exit, ports[index]).toBe(2)
      expect(run.stderr()).toContain(
        `--dashboard must be a port from 0 to 65535, got "${ports[index]}"`,
      )
    }
    // A port that is taken: exit 2 too, with the flag and the reason.
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    try {
      const port = (taken.address() as AddressInfo).port
      const run = tickstorm(['run', file, '--dashboard', String(port)])
      expect(await run.exit, run.stderr()).toBe(2)
      expect(run.stderr()).toContain(`--dashboard ${port}: the dashboard could not listen on`)
      expect(run.stderr()).toContain('EADDRINUSE')
    } finally {
      taken.close()
    }
    const help = tickstorm(['run', '--help'])
    expect(await help.exit).toBe(0)
    expect(help.stdout()).toContain('--dashboard [port]')
  })

  test('the flag’s value is optional: bare, it takes a free port and leaves the scenario alone', () => {
    expect(dashboardArgs(['--dashboard', 's.yaml'])).toEqual(['--dashboard=0', 's.yaml'])
    expect(dashboardArgs(['s.yaml', '--dashboard'])).toEqual(['s.yaml', '--dashboard=0'])
    expect(dashboardArgs(['s.yaml', '--dashboard', '8080'])).toEqual([
      's.yaml',
      '--dashboard',
      '8080',
    ])
    expect(dashboardArgs(['--dashboard=9000', 's.yaml'])).toEqual(['--dashboard=9000', 's.yaml'])
  })
})

/**
 * The CLI on a pseudo-terminal (util-linux's script(1)): its stdin is a TTY, so the dashboard
 * lingers after the run, and a ^C written to the terminal is a real SIGINT from the line
 * discipline. The output is stdout and stderr as the terminal showed them. script(1) runs the
 * command through $SHELL -c, and dash (Debian's /bin/sh, the SHELL a CI job may have) waits
 * for it instead of exec'ing it, so the ^C would end that shell with 130 whatever the CLI did:
 * `exec` makes the CLI the terminal's only process, as it is under an interactive shell.
 */
function atTerminal(command: readonly string[]): {
  child: ChildProcessByStdio<Writable, Readable, Readable>
  output: () => string
  exit: Promise<number | null>
} {
  const child = spawn(
    '/usr/bin/script',
    ['-qfec', `exec ${command.map(shellQuote).join(' ')}`, '/dev/null'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => out, exit }
}

/** Waits for a run at a terminal to say its dashboard stays up; the dashboard's URL. */
async function stillAt(output: () => string, what: string): Promise<string> {
  await waitFor(what, () => output().includes('Ctrl-C to exit'), {
    timeoutMs: 60_000,
    state: () => output().slice(-400),
  })
  return /dashboard still at (http:\/\/127\.0\.0\.1:\d+\/), Ctrl-C to exit/.exec(output())![1]!
}
