/**
 * The peer servers of the peers benchmark, on 127.0.0.1 with their files in a temp dir of their
 * own: nchan (Debian's nginx with bench/peers/nchan.conf), which the harness starts itself through
 * the scenario's `target.command` so it samples nginx's master and worker; and Pushpin (Debian's
 * runner with bench/peers/pushpin.conf and pushpin.routes), which needs its GRIP origin's port
 * before it starts and some time after, so it is started here and the harness attaches to its
 * runner's pid (the tree sampler adds condure, zurl, pushpin-proxy and pushpin-handler).
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGripOrigin } from '../../src/harness/targets/grip-origin.js'

const NGINX = '/usr/sbin/nginx'
const PUSHPIN = '/usr/bin/pushpin'
/** The templates stay in the source tree: dist/bench/peers/ → bench/peers/. */
const TEMPLATES = new URL('../../../bench/peers/', import.meta.url)

/** Open connections nginx keeps beside the subscribers: publishes, probes, the listener. */
const NCHAN_SPARE_CONNECTIONS = 1024
/** How long a peer may take to come up before the bench gives up on it. */
const START_TIMEOUT_MS = 30_000
const PROBE_TIMEOUT_MS = 1000
const POLL_MS = 100

/** `{{KEY}}` → its value; a key without one is an error, not an empty string in a config. */
function fillTemplate(name: string, values: Readonly<Record<string, string | number>>): string {
  const template = readFileSync(new URL(name, TEMPLATES), 'utf8')
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key]
    if (value === undefined) throw new Error(`${name}: no value for {{${key}}}`)
    return String(value)
  })
}

/** A port the kernel says is free on 127.0.0.1 now (nginx and Pushpin take no port 0). */
async function unusedPort(): Promise<number> {
  const probe = createServer()
  const port = await new Promise<number>((resolve, reject) => {
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port))
  })
  await new Promise((resolve) => probe.close(resolve))
  return port
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline)
      throw new Error(`gave up after ${START_TIMEOUT_MS} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/** An nchan the harness starts (`target.command`) and stops; `remove` deletes its files after. */
export interface NchanSetup {
  /** The scenario's `target:` flow mapping. */
  readonly target: string
  readonly url: string
  remove(): void
}

/**
 * Writes nchan.conf for one run. The template's `worker_connections 4096` cannot hold 10k
 * subscribers on its one worker (nginx refuses the rest with "worker_connections are not
 * enough"), so the run's copy raises it to the subscribers plus a margin; nothing else changes.
 */
export async function prepareNchan(subscribers: number): Promise<NchanSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'tickstorm-bench-nchan-'))
  // Started as root, nginx's worker runs as `nobody`, who must reach the temp paths in `dir`.
  chmodSync(dir, 0o755)
  const port = await unusedPort()
  const connections = Math.max(4096, subscribers + NCHAN_SPARE_CONNECTIONS)
  const config = fillTemplate('nchan.conf', { DIR: dir, PORT: port }).replace(
    /worker_connections \d+;/,
    `worker_connections ${connections};`,
  )
  const configPath = join(dir, 'nginx.conf')
  writeFileSync(configPath, config)
  const url = `http://127.0.0.1:${port}`
  const command = `${NGINX} -p ${dir} -c ${configPath} -e ${join(dir, 'error.log')}`
  return {
    target: `{ kind: nchan, url: ${url}, command: "${command}" }`,
    url,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** A running Pushpin whose routes point at a GRIP origin port the harness will listen on. */
export interface PushpinSetup {
  /** The scenario's `target:` flow mapping (url, publishUrl, origin, pid). */
  readonly target: string
  readonly pid: number
  /** SIGTERM to the runner (it stops its services), waits for its exit, removes the temp dir. */
  stop(): Promise<void>
}

/**
 * Starts Pushpin and waits until it holds a stream for its origin: a fresh Pushpin answers its
 * first held streams 500 for a moment, so a temporary origin of the harness's own kind listens on
 * the routed port until one is held, and is closed before the harness opens its own there.
 */
export async function startPushpinPeer(): Promise<PushpinSetup> {
  const dir = mkdtempSync(join(tmpdir(), 'tickstorm-bench-pushpin-'))
  const originPort = await unusedPort()
  const ports = {
    HTTP_PORT: await unusedPort(),
    PUSH_IN_PORT: await unusedPort(),
    PUSH_IN_SUB_PORT: await unusedPort(),
    PUSH_IN_HTTP_PORT: await unusedPort(),
    COMMAND_PORT: await unusedPort(),
  }
  const configPath = join(dir, 'pushpin.conf')
  writeFileSync(configPath, fillTemplate('pushpin.conf', { DIR: dir, ...ports }))
  writeFileSync(join(dir, 'routes'), fillTemplate('pushpin.routes', { ORIGIN_PORT: originPort }))
  // Its log goes to a file: piping thousands of subscribe lines through this process would put
  // the harness's CPU into the measurement.
  const log = openSync(join(dir, 'pushpin.log'), 'a')
  const child: ChildProcess = spawn(PUSHPIN, ['--config', configPath, '--merge-output'], {
    cwd: dir,
    stdio: ['ignore', log, log],
  })
  let exited = false
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true
      resolve()
    })
    child.once('error', () => {
      exited = true
      resolve()
    })
  })
  const url = `http://127.0.0.1:${ports.HTTP_PORT}`
  const controlUrl = `http://127.0.0.1:${ports.PUSH_IN_HTTP_PORT}`
  const stop = async () => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGTERM')
    await exit
    rmSync(dir, { recursive: true, force: true })
  }
  const alive = () => {
    if (exited) throw new Error(`pushpin exited: ${readFileSync(join(dir, 'pushpin.log'), 'utf8')}`)
  }
  try {
    await until(`Pushpin's control API at ${controlUrl}`, async () => {
      alive()
      const response = await fetch(`${controlUrl}/publish/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"items":[]}',
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      })
      await response.arrayBuffer()
      return response.ok
    })
    const origin = await createGripOrigin({ host: '127.0.0.1', port: originPort })
    try {
      await until(`Pushpin to hold a stream at ${url}`, async () => {
        alive()
        return holdsStream(url)
      })
    } finally {
      await origin.close()
    }
  } catch (error) {
    await stop()
    throw error
  }
  return {
    target: `{ kind: pushpin, url: ${url}, publishUrl: ${controlUrl}, origin: "127.0.0.1:${originPort}", pid: ${child.pid} }`,
    pid: child.pid!,
    stop,
  }
}

/** True once a held stream opens through Pushpin and its first chunk (the origin's) arrives. */
async function holdsStream(url: string): Promise<boolean> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS)
  try {
    const response = await fetch(`${url}/sub/BENCHREADY`, { signal: controller.signal })
    if (response.ok) await response.body?.getReader().read()
    return response.ok
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}
