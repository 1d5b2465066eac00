import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGripOrigin } from '../../src/harness/targets/grip-origin.js'
import { freePort } from './free-port.js'
import { waitForAsync } from './wait-async.js'

/** Debian's nginx, which loads nchan (`apt-get install libnginx-mod-nchan`). */
const NGINX = '/usr/sbin/nginx'
/** Debian's Pushpin runner, which starts condure, zurl, pushpin-proxy and pushpin-handler. */
const PUSHPIN = '/usr/bin/pushpin'
const PEERS = new URL('../../bench/peers/', import.meta.url)

/** Another push server, running on ephemeral ports in its own temp dir. */
export interface Peer {
  /** Base of the subscribe URLs: `${url}/sub/AAPL,MSFT`. */
  readonly url: string
  /** Publishes `data` to `channel` (with `id` as the event id where the peer takes one). */
  publish(channel: string, data: string, id?: string): Promise<void>
  /** SIGTERM by PID, waits for the exit, removes the temp dir. */
  stop(): Promise<void>
}

function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`no value for {{${key}}}`)
    return String(values[key])
  })
}

function readTemplate(name: string): string {
  return readFileSync(new URL(name, PEERS), 'utf8')
}

/** A started child whose output is kept for failure messages and whose stop waits for exit. */
function run(program: string, args: string[], cwd: string) {
  const child: ChildProcess = spawn(program, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  let hasExited = false
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      hasExited = true
      resolve()
    })
    child.once('error', (error) => {
      output += String(error)
      hasExited = true
      resolve()
    })
  })
  return {
    output: () => output,
    hasExited: () => hasExited,
    stop: async () => {
      if (!hasExited && child.pid !== undefined) process.kill(child.pid, 'SIGTERM')
      await exited
    },
  }
}

async function answers(url: string, init?: RequestInit): Promise<boolean> {
  const response = await fetch(url, init)
  await response.arrayBuffer()
  return response.ok
}

/** Any answer at all, an error status too (a proxy that is up before its origin). */
async function responds(url: string, init?: RequestInit): Promise<boolean> {
  await (await fetch(url, init)).arrayBuffer()
  return true
}

/**
 * nchan in Debian's nginx with bench/peers/nchan.conf: one worker on 127.0.0.1 and an ephemeral
 * port. Ready once a publish to a probe channel succeeds.
 */
export async function startNchan(): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'tickstorm-nchan-'))
  // Run as root, nginx's worker drops to `nobody`, who must reach the temp paths under `dir`.
  chmodSync(dir, 0o755)
  const port = await freePort()
  const configPath = join(dir, 'nginx.conf')
  writeFileSync(configPath, fill(readTemplate('nchan.conf'), { DIR: dir, PORT: port }))
  const errorLogPath = join(dir, 'error.log')
  writeFileSync(errorLogPath, '')
  const nginx = run(NGINX, ['-p', dir, '-c', configPath, '-e', errorLogPath], dir)
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    await nginx.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitForAsync(
      `nchan to answer on ${url}`,
      async () => nginx.hasExited() || (await answers(`${url}/pub/ready`, { method: 'POST' })),
    )
    if (nginx.hasExited()) {
      throw new Error(`nginx exited at start: ${nginx.output()}${readFileSync(errorLogPath)}`)
    }
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url,
    publish: async (channel, data) => {
      const response = await fetch(`${url}/pub/${channel}`, { method: 'POST', body: data })
      await response.arrayBuffer()
      if (response.status !== 201 && response.status !== 202) {
        throw new Error(`nchan publish to ${channel}: HTTP ${response.status}`)
      }
    },
    stop,
  }
}

/**
 * Pushpin, which also says when its handler has subscribed a connection to a channel. `publish`
 * sends each item in both formats, `http-stream` (an SSE event) and `ws-message` (the data as one
 * WebSocket text message), so one publish reaches streams and sockets alike.
 */
export interface PushpinPeer extends Peer {
  /** The control API (`push_in_http_port`), without the `/publish/` path. */
  readonly controlUrl: string
  /** How many connections the handler has subscribed to `channel` so far (from its log). */
  subscriptions(channel: string): number
  /**
   * Waits until Pushpin holds a stream its origin asked it to (see `holdsStreams`); `start`
   * waits for this itself unless the caller brings the origin.
   */
  ready(): Promise<void>
}

export interface PushpinOptions {
  /**
   * Route to a GRIP origin on this port of 127.0.0.1 that the caller brings (the harness's own,
   * which starts once Pushpin runs, as in a real run) and then calls `ready()`; without it the
   * peer starts one on an ephemeral port and closes it on stop.
   */
  readonly originPort?: number
}

/**
 * A probe of a starting Pushpin is cut after this long and tried again: a request it took while
 * its services were still connecting to each other may never be answered.
 */
const PUSHPIN_PROBE_MS = 1000
/** The channel of the readiness probe's held stream (no test publishes to it). */
const READY_CHANNEL = 'tickstorm-ready-probe'

/**
 * True once a stream the origin holds (`Grip-Hold`) opens through Pushpin. A plain proxied request
 * goes through sooner: for a moment after start the proxy cannot yet hand a held stream to the
 * handler and answers it 500, and a test stream opened then never gets its events.
 */
async function holdsStreams(url: string): Promise<boolean> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), PUSHPIN_PROBE_MS)
  try {
    const response = await fetch(`${url}/sub/${READY_CHANNEL}`, { signal: controller.signal })
    // The body stays open: its first chunk (the origin's `:subscribed`) is enough.
    if (response.ok) await response.body?.getReader().read()
    return response.ok
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}

/**
 * Debian's Pushpin with bench/peers/pushpin.conf, every port ephemeral and rundir/logdir in a
 * temp dir, routing everything to a GRIP origin on 127.0.0.1 (WebSockets over HTTP). Started once
 * the control API accepts an empty publish and the proxy answers; ready (see `ready()`) once it
 * holds a stream for the origin.
 */
export async function startPushpin(options: PushpinOptions = {}): Promise<PushpinPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'tickstorm-pushpin-'))
  const origin =
    options.originPort === undefined
      ? await createGripOrigin()
      : { port: options.originPort, close: async () => {} }
  const ports = {
    HTTP_PORT: await freePort(),
    PUSH_IN_PORT: await freePort(),
    PUSH_IN_SUB_PORT: await freePort(),
    PUSH_IN_HTTP_PORT: await freePort(),
    COMMAND_PORT: await freePort(),
  }
  const configPath = join(dir, 'pushpin.conf')
  writeFileSync(configPath, fill(readTemplate('pushpin.conf'), { DIR: dir, ...ports }))
  writeFileSync(
    join(dir, 'routes'),
    fill(readTemplate('pushpin.routes'), { ORIGIN_PORT: origin.port }),
  )
  const pushpin = run(PUSHPIN, ['--config', configPath, '--merge-output'], dir)
  const url = `http://127.0.0.1:${ports.HTTP_PORT}`
  const controlUrl = `http://127.0.0.1:${ports.PUSH_IN_HTTP_PORT}`
  const publishUrl = `${controlUrl}/publish/`
  const stop = async () => {
    // The runner stops the services it started before it exits.
    await pushpin.stop()
    await origin.close()
    rmSync(dir, { recursive: true, force: true })
  }
  const ready = async () => {
    await waitForAsync(`Pushpin to hold a stream for its origin at ${url}`, async () => {
      if (pushpin.hasExited()) throw new Error(`pushpin exited: ${pushpin.output()}`)
      return await holdsStreams(url)
    })
  }
  try {
    await waitForAsync(
      `Pushpin to proxy ${url} and accept publishes`,
      async () =>
        pushpin.hasExited() ||
        ((await responds(`${url}/ready`, { signal: AbortSignal.timeout(PUSHPIN_PROBE_MS) })) &&
          (await answers(publishUrl, {
            signal: AbortSignal.timeout(PUSHPIN_PROBE_MS),
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: '{"items":[]}',
          }))),
    )
    if (pushpin.hasExited()) throw new Error(`pushpin exited at start: ${pushpin.output()}`)
    if (options.originPort === undefined) await ready()
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url,
    controlUrl,
    ready,
    // The stream's response reaches the client before the handler subscribes it, so a publish
    // right after the client's open can find no receiver; this line is the handler's word.
    subscriptions: (channel) =>
      pushpin
        .output()
        .split('\n')
        .filter(
          (line) => line.includes('[handler] subscribe ') && line.endsWith(` channel=${channel}`),
        ).length,
    publish: async (channel, data, id) => {
      const event = `${id === undefined ? '' : `id: ${id}\n`}event: quote\ndata: ${data}\n\n`
      const item = {
        channel,
        ...(id === undefined ? {} : { id }),
        formats: { 'http-stream': { content: event }, 'ws-message': { content: data } },
      }
      const response = await fetch(publishUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ items: [item] }),
      })
      const text = await response.text()
      if (!response.ok)
        throw new Error(`Pushpin publish to ${channel}: HTTP ${response.status} ${text}`)
    },
    stop,
  }
}
