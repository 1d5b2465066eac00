/**
 * The pieces the fan-out benchmark shares: a baseline server in a child process, a /proc sampler
 * windowed on the harness's measured span (so the warm-up, the ramp and the teardown of thousands
 * of sockets are left out for every server alike), and one `runScenario` call turned into one
 * table row.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { createProcessSampler, type ProcessSampler } from '../../src/harness/process-sampler.js'
import { runScenario } from '../../src/harness/runner.js'
import { parseScenario } from '../../src/harness/scenario.js'
import type { TransportResult } from '../../src/report/result-schema.js'

export const SERVER_BIN = fileURLToPath(new URL('../../../bin/tickstorm.js', import.meta.url))
export const BASELINES = {
  'node:http': fileURLToPath(new URL('../baselines/node-http-sse.js', import.meta.url)),
  ws: fileURLToPath(new URL('../baselines/ws-fanout.js', import.meta.url)),
} as const
export type BaselineName = keyof typeof BASELINES

export interface Baseline {
  readonly url: string
  readonly pid: number
  stop(): Promise<void>
}

/** Starts a baseline on a port below the ephemeral range (as the embedded server does). */
export async function startBaseline(name: BaselineName, ratePerSec: number): Promise<Baseline> {
  const port = 20_000 + Math.floor(Math.random() * 12_000)
  const child: ChildProcess = spawn(
    process.execPath,
    [BASELINES[name], '--port', String(port), '--rate', String(ratePerSec)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /http:\/\/\S+:\d+/.exec(chunk.toString())
      if (match) resolve(match[0])
    })
    child.once('exit', (code) => reject(new Error(`baseline ${name} exited with ${code}`)))
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** The pid of this process's child running `bin/tickstorm.js` (the embedded target). */
export function embeddedServerPid(): number {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter((pid) => pid.length > 0)
  for (const pid of children) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('tickstorm.js')) return Number(pid)
    } catch {
      // gone already
    }
  }
  throw new Error('no embedded tickstorm server among the child processes')
}

/** The benchmarks' one-symbol quiet market at `ratePerSec` (broadcast, idle, http, workers). */
export function oneSymbolMarket(ratePerSec: number) {
  return { preset: 'quiet', seed: 1, frameMs: 5, speed: 1, symbols: 1, ratePerSec } as const
}

/** An idle market: one symbol and one event every 1,000 s on average. */
export const IDLE_MARKET = oneSymbolMarket(0.001)

/** A market as the flow mapping of an embedded scenario's `server:` block. */
export function serverBlock(market: Readonly<Record<string, string | number>>): string {
  return `{ ${Object.entries(market)
    .map(([key, value]) => `${key}: ${value}`)
    .join(', ')} }`
}

/** One measured run, as the report needs it. */
export interface Row {
  readonly workload: string
  readonly server: string
  readonly transport: string
  readonly subscribers: number
  readonly connected: number
  readonly ratePerSec: number | null
  readonly measuredSec: number
  readonly eventsPerSecPerSubscriber: number
  readonly deliveriesPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  readonly lost: number
  readonly lossRatio: number
  readonly errors: number
  readonly serverCpuPercent: number
  /** Server CPU-seconds per million deliveries (= µs of server CPU per delivery). */
  readonly serverCpuSecPerMillion: number | null
  readonly serverRssMiB: number
  readonly serverBytesPerConnection: number | null
  readonly bytesPerEvent: number | null
  readonly harnessCpuUsPerEvent: number | null
  readonly connectP99Ms: number
  /**
   * From the harness handing the subscribers to its pools to every one connected (the runner's
   * `allConnectedSec`, polled every 25 ms; the harness's own start-up is not in it).
   */
  readonly allConnectedSec: number | null
  readonly valid: boolean
  readonly invalidReasons: readonly string[]
}

export interface StreamRun {
  readonly workload: string
  /** Label of the server: `tickstorm`, `node:http`, `ws`. */
  readonly server: string
  readonly transport: 'sse' | 'longpoll' | 'ws'
  readonly subscribers: number
  readonly ratePerSec: number | null
  /** `server:` block of an embedded scenario, or the URL of a baseline. */
  readonly target: { readonly embedded: string } | { readonly url: string; readonly pid: number }
  readonly watchList: string
  readonly rampPerSec: number
  readonly warmupSec: number
  readonly durationSec: number
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits))

/**
 * A measured transport as a table row: the harness's figures as they are, the server's as the
 * caller sampled them (CPU % over the window, its largest RSS, memory per connection).
 */
export function rowOf(
  run: Pick<StreamRun, 'workload' | 'server' | 'transport' | 'subscribers' | 'ratePerSec'>,
  t: TransportResult,
  server: {
    /** Null: the server was not sampled (no CPU per delivery). */
    readonly cpuPercent: number | null
    readonly rssMaxBytes: number
    readonly bytesPerConnection: number | null
    readonly allConnectedSec: number | null
  },
): Row {
  const connected = t.subscribers.connectedMax
  const cpuUs = server.cpuPercent === null ? null : (server.cpuPercent / 100) * t.measuredSec * 1e6
  const ms = (us: number) => round(us / 1000)
  return {
    workload: run.workload,
    server: run.server,
    transport: run.transport,
    subscribers: run.subscribers,
    connected,
    ratePerSec: run.ratePerSec,
    measuredSec: round(t.measuredSec, 1),
    eventsPerSecPerSubscriber: round(connected > 0 ? t.deliveriesPerSec / connected : 0, 1),
    deliveriesPerSec: Math.round(t.deliveriesPerSec),
    p50Ms: ms(t.latencyUs.p50),
    p99Ms: ms(t.latencyUs.p99),
    p999Ms: ms(t.latencyUs.p999),
    maxMs: ms(t.latencyUs.max),
    lost: t.lost,
    lossRatio: t.lossRatio,
    errors: t.errors,
    serverCpuPercent: round(server.cpuPercent ?? 0, 1),
    serverCpuSecPerMillion:
      cpuUs === null || t.deliveries === 0 ? null : round(cpuUs / t.deliveries, 3),
    serverRssMiB: round(server.rssMaxBytes / 2 ** 20, 1),
    serverBytesPerConnection:
      server.bytesPerConnection === null ? null : Math.round(server.bytesPerConnection),
    bytesPerEvent: t.bytesPerEvent === null ? null : round(t.bytesPerEvent, 1),
    harnessCpuUsPerEvent:
      t.harness.cpuUsPerEvent === null ? null : round(t.harness.cpuUsPerEvent, 3),
    connectP99Ms: ms(t.connectTimeUs.p99),
    allConnectedSec: server.allConnectedSec === null ? null : round(server.allConnectedSec),
    valid: t.validity.valid,
    invalidReasons: t.validity.invalidReasons,
  }
}

/** Plays one workload over one transport against one server and reduces it to a row. */
export async function measureStream(run: StreamRun): Promise<Row> {
  const target =
    'embedded' in run.target
      ? `target: embedded\nserver: ${run.target.embedded}`
      : `target: { url: ${run.target.url} }`
  const scenario = parseScenario(
    `name: ${run.workload}
description: ${run.workload} ${run.server} ${run.transport} ${run.subscribers}
${target}
transports: [${run.transport}]
subscribers: { count: ${run.subscribers}, rampPerSec: ${run.rampPerSec}, watchList: ${run.watchList} }
warmupSec: ${run.warmupSec}
durationSec: ${run.durationSec}
thresholds: { p99Ms: 50, maxLossRatio: 0 }
`,
    `${run.workload}.yaml`,
  )
  let sampler: ProcessSampler | undefined
  let rssBeforeBytes = 0
  let allConnectedSec: number | null = null
  let firstMeasuredProgressMs: number | null = null
  let lastProgressMs = 0
  try {
    const outcome = await runScenario(scenario, {
      serverBin: SERVER_BIN,
      scenarioFile: `${run.workload}.yaml`,
      commit: 'bench',
      onTarget: () => {
        const pid = 'pid' in run.target ? run.target.pid : embeddedServerPid()
        sampler = createProcessSampler(pid)
        sampler.start(1000)
        rssBeforeBytes = sampler.samples.at(-1)?.rssBytes ?? readRss(pid)
      },
      onProgress: (progress) => {
        const nowMs = Date.now()
        if (progress.allConnectedSec !== null) allConnectedSec ??= progress.allConnectedSec
        if (!progress.warmingUp) {
          firstMeasuredProgressMs ??= nowMs
          lastProgressMs = nowMs
        }
      },
    })
    sampler?.stop()
    const t = outcome.result.transports[0]!
    // The runner resets its counters one progress tick (1 s) before the first measured report.
    const fromMs = (firstMeasuredProgressMs ?? lastProgressMs) - 1000
    const window = (sampler?.samples ?? []).filter(
      (s) => s.atMs > fromMs + 500 && s.atMs <= lastProgressMs + 500,
    )
    const cpuPercent =
      window.length === 0 ? 0 : window.reduce((sum, s) => sum + s.cpuPercent, 0) / window.length
    const rssMaxBytes = Math.max(0, ...window.map((s) => s.rssBytes))
    const connected = t.subscribers.connectedMax
    return rowOf(run, t, {
      cpuPercent,
      rssMaxBytes,
      bytesPerConnection:
        connected > 0 ? Math.max(0, rssMaxBytes - rssBeforeBytes) / connected : null,
      allConnectedSec,
    })
  } finally {
    sampler?.stop()
  }
}

function readRss(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match === null ? 0 : Number(match[1]) * 1024
}

/** One request/response workload (autocannon) against a server process, as a table needs it. */
export interface HttpMeasurement {
  readonly requestsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  readonly non2xx: number
  readonly serverCpuPercent: number
  readonly serverCpuUsPerRequest: number
}

/**
 * `connections` keep-alive connections send requests to `url` as fast as answers come: 2 s of
 * warm-up, then `durationSec` measured, the server's CPU (pid, every thread) read from /proc.
 */
export async function measureHttp(
  url: string,
  pid: number,
  connections: number,
  durationSec: number,
): Promise<HttpMeasurement> {
  await autocannon({ url, connections, duration: 2 })
  const sampler = createProcessSampler(pid)
  sampler.start(1000)
  const result = await autocannon({ url, connections, duration: durationSec })
  sampler.stop()
  const cpu = sampler.summary()
  return {
    requestsPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    serverCpuPercent: Number(cpu.cpuPercentAvg.toFixed(1)),
    serverCpuUsPerRequest: Number((cpu.cpuUs / Math.max(1, result.requests.total)).toFixed(2)),
  }
}
