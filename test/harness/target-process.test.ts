import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { ERROR_CODES, TickstormError } from '../../src/errors.js'
import {
  attachTargetPid,
  createProcessTreeSampler,
  killTargetProcesses,
  startTargetCommand,
  type TargetProcess,
  treePids,
} from '../../src/harness/target-process.js'
import { NGINX } from '../deploy/nginx-process.js'
import { freePort } from '../helpers/free-port.js'
import { waitForAsync } from '../helpers/wait-async.js'

/** A tiny HTTP server that answers with its own pid, on the port given as its argument. */
const SERVER_SCRIPT = `
import { createServer } from 'node:http'
createServer((req, res) => res.end(String(process.pid))).listen(Number(process.argv[2]), '127.0.0.1')
process.on('SIGTERM', () => process.exit(0))
`

let dir: string
let script: string
const started: TargetProcess[] = []

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tickstorm-target-process-'))
  script = join(dir, 'server.mjs')
  writeFileSync(script, SERVER_SCRIPT)
})

afterEach(async () => {
  for (const target of started.splice(0)) await target.stop()
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

function serverCommand(port: number): string {
  return `'${process.execPath}' '${script}' ${port}`
}

/** A process is gone once /proc has no entry for it, or only a zombie's. */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

/** Signals are delivered asynchronously: a process stops (state T) a moment after SIGSTOP. */
async function waitForState(pid: number, stopped: boolean): Promise<void> {
  await waitForAsync(
    `process ${pid} to be ${stopped ? 'stopped' : 'running'}`,
    async () => (stateOf(pid) === 'T') === stopped,
    { timeoutMs: 2000, state: () => stateOf(pid) },
  )
}

function stateOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
}

async function servedPid(url: string): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
  return Number(await response.text())
}

async function rejection(promise: Promise<unknown>): Promise<TickstormError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(TickstormError)
  return error as TickstormError
}

describe('startTargetCommand', () => {
  test('starts, is sampled, stalls, restarts on the same port and stops', async () => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const target = await startTargetCommand({ command: serverCommand(port), url })
    started.push(target)
    expect(target.url).toBe(url)
    const firstPid = target.pid
    expect(isGone(firstPid)).toBe(false)
    const firstServer = await servedPid(url)
    expect(treePids(firstPid)).toContain(firstServer)

    const sampler = createProcessTreeSampler(() => target.pid)
    expect(sampler.sample(Date.now())).toBeNull()
    for (let i = 0; i < 20; i++) await servedPid(url)
    const sample = sampler.sample(Date.now() + 1)
    expect(sample).not.toBeNull()
    expect(sample!.rssBytes).toBeGreaterThan(10 * 1024 * 1024)
    expect(sample!.cpuPercent).toBeGreaterThanOrEqual(0)
    expect(sampler.summary().samples).toBe(1)

    // A request made during a 300 ms stall is answered only once the server is let go.
    const stalledAt = Date.now()
    target.stall(300)
    await waitForState(firstServer, true)
    expect(await servedPid(url)).toBe(firstServer)
    expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(250)
    await waitForState(firstServer, false)

    await target.restart()
    expect(target.pid).not.toBe(firstPid)
    expect(isGone(firstPid)).toBe(true)
    expect(isGone(firstServer)).toBe(true)
    const secondServer = await servedPid(url)
    expect(secondServer).not.toBe(firstServer)
    expect(treePids(target.pid)).toContain(secondServer)
    // The sampler follows the new pid.
    expect(sampler.sample(Date.now() + 2)!.rssBytes).toBeGreaterThan(0)

    const secondPid = target.pid
    await target.stop()
    expect(isGone(secondPid)).toBe(true)
    expect(isGone(secondServer)).toBe(true)
  })

  test('a frozen server is stopped all the same', async () => {
    const port = await freePort()
    const target = await startTargetCommand({
      command: serverCommand(port),
      url: `http://127.0.0.1:${port}`,
    })
    started.push(target)
    const server = await servedPid(target.url)
    target.freeze()
    await waitForState(server, true)
    await target.stop()
    expect(isGone(server)).toBe(true)
    expect(isGone(target.pid)).toBe(true)
  })

  test('a command that exits at once fails with its exit code and output', async () => {
    const port = await freePort()
    const command = 'echo "no config here" >&2; exit 3'
    const error = await rejection(startTargetCommand({ command, url: `http://127.0.0.1:${port}` }))
    expect(error.code).toBe(ERROR_CODES.LISTEN_FAILED)
    expect(error.message).toContain(command)
    expect(error.message).toContain('exit code 3')
    expect(error.message).toContain('no config here')
  })

  test('a command that never listens is killed after the ready timeout', async () => {
    const port = await freePort()
    const pidFile = join(dir, 'sleeper.pid')
    const error = await rejection(
      startTargetCommand({
        command: `echo $$ > '${pidFile}'; echo waiting; sleep 30`,
        url: `http://127.0.0.1:${port}`,
        readyTimeoutMs: 300,
      }),
    )
    expect(error.code).toBe(ERROR_CODES.TARGET_UNREACHABLE)
    expect(error.message).toContain('within 300 ms')
    expect(error.message).toContain('waiting')
    expect(isGone(Number(readFileSync(pidFile, 'utf8')))).toBe(true)
  })

  test('a port that already accepts connections is refused before the command runs', async () => {
    const taken: Server = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const { port } = taken.address() as { port: number }
    const marker = join(dir, 'ran')
    try {
      const error = await rejection(
        startTargetCommand({
          command: `touch '${marker}'; ${serverCommand(port)}`,
          url: `http://127.0.0.1:${port}`,
        }),
      )
      expect(error.code).toBe(ERROR_CODES.LISTEN_FAILED)
      expect(error.message).toContain(`127.0.0.1:${port} already accepts connections`)
      expect(existsSync(marker)).toBe(false)
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })

  test('an aborted start kills the command', async () => {
    const port = await freePort()
    const pidFile = join(dir, 'aborted.pid')
    const controller = new AbortController()
    const starting = startTargetCommand({
      command: `echo $$ > '${pidFile}'; sleep 30`,
      url: `http://127.0.0.1:${port}`,
      signal: controller.signal,
    })
    await waitForAsync('the command to write its pid', async () => existsSync(pidFile))
    await waitForAsync(
      'the pid file to be written',
      async () => readFileSync(pidFile, 'utf8') !== '',
    )
    controller.abort(new Error('stop now'))
    await expect(starting).rejects.toThrow('stop now')
    expect(isGone(Number(readFileSync(pidFile, 'utf8')))).toBe(true)
  })

  test('killTargetProcesses kills every started group, frozen or not', async () => {
    const port = await freePort()
    const target = await startTargetCommand({
      command: serverCommand(port),
      url: `http://127.0.0.1:${port}`,
    })
    started.push(target)
    const server = await servedPid(target.url)
    target.freeze()
    expect(killTargetProcesses()).toContain(target.pid)
    await waitForAsync('the frozen server to be killed', async () => isGone(server))
    await target.stop()
  })

  test('nginx: the tree sampler sees its master and workers', async () => {
    expect(existsSync(NGINX), `${NGINX} is missing: apt-get install nginx`).toBe(true)
    const port = await freePort()
    const prefix = mkdtempSync(join(dir, 'nginx-'))
    // Run as root, nginx's workers drop to `nobody`, who must reach the temp paths.
    chmodSync(prefix, 0o755)
    const config = join(prefix, 'nginx.conf')
    writeFileSync(
      config,
      `daemon off;
worker_processes 2;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${join(prefix, 'client_body')};
    proxy_temp_path ${join(prefix, 'proxy')};
    fastcgi_temp_path ${join(prefix, 'fastcgi')};
    uwsgi_temp_path ${join(prefix, 'uwsgi')};
    scgi_temp_path ${join(prefix, 'scgi')};
    server { listen 127.0.0.1:${port}; location / { return 200 "ok"; } }
}
`,
    )
    const target = await startTargetCommand({
      command: `${NGINX} -p '${prefix}' -c '${config}' -e '${join(prefix, 'error.log')}'`,
      url: `http://127.0.0.1:${port}`,
    })
    started.push(target)
    await waitForAsync(
      'nginx to fork its two workers',
      async () => treePids(target.pid).length >= 3,
    )
    const pids = treePids(target.pid)
    const sampler = createProcessTreeSampler(target.pid)
    sampler.sample(Date.now())
    const response = await fetch(target.url)
    expect(await response.text()).toBe('ok')
    const sample = sampler.sample(Date.now() + 1)!
    // The workers' memory is summed with the master's.
    const masterRss = Number(
      /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${target.pid}/status`, 'utf8'))![1],
    )
    expect(sample.rssBytes).toBeGreaterThan(masterRss * 1024)

    // The whole tree is frozen, and a frozen nginx is stopped all the same.
    target.freeze()
    for (const pid of pids) await waitForState(pid, true)
    await target.stop()
    for (const pid of pids) expect(isGone(pid)).toBe(true)
  })
})

describe('attachTargetPid', () => {
  test('a pid that does not exist is refused, naming it', async () => {
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'))
    const missing = pidMax + 1
    let error: unknown
    try {
      attachTargetPid(missing, 'http://127.0.0.1:1')
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(TickstormError)
    expect((error as TickstormError).code).toBe(ERROR_CODES.TARGET_UNREACHABLE)
    expect((error as TickstormError).message).toContain(String(missing))
    expect(() => attachTargetPid(process.pid, 'http://127.0.0.1:1')).toThrow(
      /other than the harness/,
    )
    expect(() => attachTargetPid(0, 'http://127.0.0.1:1')).toThrow(/target.pid/)
  })

  test('an attached server stalls, refuses a restart and is not stopped', async () => {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const child = spawn(process.execPath, [script, String(port)], { stdio: 'ignore' })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      await waitForAsync(`the server to listen on ${port}`, async () => {
        try {
          return (await servedPid(url)) === child.pid
        } catch {
          return false
        }
      })
      const target = attachTargetPid(child.pid!, url)
      expect(target.pid).toBe(child.pid)

      const sampler = createProcessTreeSampler(target.pid)
      sampler.sample(Date.now())
      expect(sampler.sample(Date.now() + 1)!.rssBytes).toBeGreaterThan(0)

      const stalledAt = Date.now()
      target.stall(300)
      await waitForState(child.pid!, true)
      expect(await servedPid(url)).toBe(child.pid)
      expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(250)

      const error = await rejection(target.restart())
      expect(error.message).toContain('restart needs target.command')
      expect(isGone(child.pid!)).toBe(false)

      // Frozen, then stopped: let go, still running, not ours to kill.
      target.freeze()
      await waitForState(child.pid!, true)
      await target.stop()
      await waitForState(child.pid!, false)
      expect(await servedPid(url)).toBe(child.pid)
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  })
})
