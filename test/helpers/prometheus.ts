import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { waitForAsync } from './wait-async.js'

/** Debian's Prometheus server (apt-get install prometheus). */
export const PROMETHEUS = '/usr/bin/prometheus'

export interface PrometheusSample {
  readonly metric: Record<string, string>
  readonly value: [number, string]
}

export interface RunningPrometheus {
  /** http://127.0.0.1:port */
  readonly url: string
  /** The remote-write receiver's URL. */
  readonly writeUrl: string
  /** An instant query; throws with Prometheus' error when it fails. */
  query(promql: string): Promise<PrometheusSample[]>
  /** The tail of its log, for a failing test's message. */
  log(): string
  stop(): Promise<void>
}

/**
 * A real Prometheus on 127.0.0.1 with its remote-write receiver and native histograms on, a
 * fresh TSDB and no scrape jobs (all it holds comes by remote write); resolves once /-/ready.
 */
export async function startPrometheus(): Promise<RunningPrometheus> {
  if (!existsSync(PROMETHEUS)) {
    throw new Error(`${PROMETHEUS} is missing: apt-get install prometheus`)
  }
  const dir = await mkdtemp(join(tmpdir(), 'tickstorm-prometheus-'))
  const config = join(dir, 'prometheus.yml')
  await writeFile(config, 'global:\n  scrape_interval: 1m\n')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--enable-feature=native-histograms',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let log = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000)
  })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await waitForAsync('Prometheus /-/ready', async () => (await fetch(`${url}/-/ready`)).ok, {
      timeoutMs: 20_000,
      state: () =>
        child.exitCode === null ? log.slice(-2000) : `exited ${child.exitCode}: ${log}`,
    })
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url,
    writeUrl: `${url}/api/v1/write`,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)
      const body = (await response.json()) as {
        status: string
        error?: string
        data?: { result: PrometheusSample[] }
      }
      if (body.status !== 'success' || body.data === undefined) {
        throw new Error(`${promql}: ${body.error ?? response.status}`)
      }
      return body.data.result
    },
    log: () => log,
    stop,
  }
}
