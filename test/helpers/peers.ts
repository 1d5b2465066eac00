import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGripOrigin } from '../../bench/peers/grip-origin.js'
import { freePort } from '../deploy/nginx-process.js'
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

/** Pushpin, which also says when its handler has subscribed a held stream to a channel. */
export interface PushpinPeer extends Peer {
  /** How many held streams the handler has subscribed to `channel` so far (from its log). */
  subscriptions(channel: string): number
}

/**
 * Debian's Pushpin with bench/peers/pushpin.conf, every port ephemeral and rundir/logdir in a
 * temp dir, routing everything to a GRIP origin on 127.0.0.1. Ready once a request goes through
 * the proxy to the origin and the control API accepts an empty publish.
 */
export async function startPushpin(): Promise<PushpinPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'tickstorm-pushpin-'))
  const origin = await createGripOrigin()
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
  const publishUrl = `http://127.0.0.1:${ports.PUSH_IN_HTTP_PORT}/publish/`
  const stop = async () => {
    // The runner stops the services it started before it exits.
    await pushpin.stop()
    await origin.close()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitForAsync(
      `Pushpin to proxy ${url} and accept publishes`,
      async () =>
        pushpin.hasExited() ||
        ((await answers(`${url}/ready`)) &&
          (await answers(publishUrl, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: '{"items":[]}',
          }))),
    )
    if (pushpin.hasExited()) throw new Error(`pushpin exited at start: ${pushpin.output()}`)
  } catch (error) {
    await stop()
    throw error
  }
  return {
    url,
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
        formats: { 'http-stream': { content: event } },
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
