/**
 * Any server's process as a fault-injection and sampling target, not only our embedded one: a
 * command the harness starts (nginx with nchan, Pushpin, …) or a pid that is already running.
 * The handle has the members of `EmbeddedServer`, so `faults.ts` stalls and restarts either alike.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createConnection } from 'node:net'
import { ERROR_CODES, type ErrorCode, TickstormError } from '../errors.js'
import {
  type ProcessSample,
  type ProcessSampler,
  type ProcessSamplerOptions,
  type ProcessSummary,
  parseProcStatCpuTicks,
  parseProcStatusRssBytes,
  summarizeSamples,
} from './process-sampler.js'
import type { ServerProcess } from './server-process.js'

/**
 * A server the harness started from `target.command` (its pid: the command's process-group
 * leader, its descendants sampled with it), or one it was given the pid of.
 */
export type TargetProcess = ServerProcess

export interface TargetCommandOptions {
  /** Run by `/bin/sh -c`; it must keep its server in the foreground (nginx: `daemon off;`). */
  readonly command: string
  /** Where the server will listen; its host:port is polled until it accepts a TCP connection. */
  readonly url: string
  /** Aborting it while the command starts kills its process group and rejects with the reason. */
  readonly signal?: AbortSignal | undefined
  /** How long the server may take to accept a connection (default 15 s). */
  readonly readyTimeoutMs?: number | undefined
  readonly cwd?: string | undefined
}

const DEFAULT_READY_TIMEOUT_MS = 15_000
/** How long `stop` waits after SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 5_000
/** Enough of a failed command's output to show why, bounded for a chatty server. */
const OUTPUT_TAIL_CHARS = 4096
/** A readiness probe that hangs (a filtering firewall) must not eat the whole ready timeout. */
const PROBE_TIMEOUT_MS = 1000
const POLL_MS = 50

/**
 * Process groups of started commands that may still have members. A harness made to exit at once
 * (a second Ctrl-C, a crash) kills them from its exit path: a server left behind would hold its
 * port, and a frozen one would hold it forever.
 */
const liveGroups = new Set<number>()
/** Attached pids the harness froze: let go, never killed, on a forced exit. */
const frozenAttached = new Set<number>()

/**
 * Kills (SIGKILL: certain, and works on a frozen process) every process group of a started
 * command, synchronously, so it works from a process 'exit' handler; lets attached processes the
 * harness froze go on (SIGCONT). Returns the process-group ids it killed.
 */
export function killTargetProcesses(): number[] {
  const killed = [...liveGroups]
  for (const pgid of killed) signalGroup(pgid, 'SIGKILL')
  liveGroups.clear()
  for (const pid of frozenAttached) signalTree(pid, 'SIGCONT')
  frozenAttached.clear()
  return killed
}

/**
 * Runs `command` in a process group of its own (so a Ctrl-C at the terminal reaches the harness
 * only, and stall, restart and stop reach every process the command forked) and resolves once the
 * URL's host:port accepts a TCP connection. Refuses a port that accepts before the command runs:
 * the harness would measure the server already there, not the one it started.
 */
export async function startTargetCommand(options: TargetCommandOptions): Promise<TargetProcess> {
  const endpoint = endpointOf(options.url)
  if (await accepts(endpoint)) {
    throw new TickstormError(
      ERROR_CODES.LISTEN_FAILED,
      `${endpoint.host}:${endpoint.port} already accepts connections before \`${options.command}\` runs: the harness would measure the server already there; stop it or give target.pid instead`,
      { details: { command: options.command, url: options.url } },
    )
  }
  let current = await spawnCommand(options, endpoint)
  let stopping = false
  let restarting: Promise<void> | undefined
  let stallTimer: NodeJS.Timeout | undefined

  async function end(first: NodeJS.Signals): Promise<void> {
    clearTimeout(stallTimer)
    signalGroup(current.pgid, first)
    // A stalled or frozen server would only see the SIGTERM when it is let go.
    if (first !== 'SIGKILL') signalGroup(current.pgid, 'SIGCONT')
    if (!(await waitForGroupExit(current, STOP_GRACE_MS))) {
      signalGroup(current.pgid, 'SIGKILL')
      await waitForGroupExit(current, STOP_GRACE_MS)
    }
    if (groupPids(current.pgid).length === 0) liveGroups.delete(current.pgid)
  }

  return {
    url: options.url,
    get pid() {
      return current.pgid
    },
    async stop() {
      stopping = true
      // A restart under way would start a server after this stop: let it finish first.
      await restarting?.catch(() => {})
      await end('SIGTERM')
    },
    freeze() {
      clearTimeout(stallTimer)
      signalGroup(current.pgid, 'SIGSTOP')
    },
    stall(ms) {
      const pgid = current.pgid
      signalGroup(pgid, 'SIGSTOP')
      clearTimeout(stallTimer)
      stallTimer = setTimeout(() => signalGroup(pgid, 'SIGCONT'), ms)
    },
    restart() {
      restarting = (async () => {
        await end('SIGKILL')
        // The killed server's sockets may hold the port for a moment (TIME_WAIT without
        // SO_REUSEADDR): a command that fails to bind is run again until the deadline.
        const deadline = Date.now() + 10_000
        while (!stopping) {
          try {
            current = await spawnCommand(options, endpoint)
            return
          } catch (error) {
            if (Date.now() > deadline || options.signal?.aborted) throw error
            await delay(200)
          }
        }
      })()
      return restarting
    },
  }
}

/**
 * A server the harness did not start, by its pid: sampled with its descendants, and stalled or
 * frozen by signalling that tree (not its process group, which may hold the user's shell).
 * Restarting it is refused, since the harness could not bring it back; stopping it is not ours
 * to do, but a server the harness froze is let go.
 */
export function attachTargetPid(pid: number, url: string): TargetProcess {
  if (!Number.isInteger(pid) || pid < 2 || pid === process.pid) {
    // 0 and negative pids signal whole process groups, 1 is init, and our own pid would freeze
    // the harness instead of the server.
    throw new TickstormError(
      ERROR_CODES.INVALID_SCENARIO,
      `target.pid must be the pid of a server process other than the harness, got ${pid}`,
      { details: { pid } },
    )
  }
  if (readStat(pid) === null) {
    throw new TickstormError(
      ERROR_CODES.TARGET_UNREACHABLE,
      `target.pid ${pid} is not a running process (no /proc/${pid}): is its server running?`,
      { details: { pid, url } },
    )
  }
  let stallTimer: NodeJS.Timeout | undefined
  const letGo = (): void => {
    clearTimeout(stallTimer)
    signalTree(pid, 'SIGCONT')
    frozenAttached.delete(pid)
  }
  return {
    url,
    pid,
    async stop() {
      if (frozenAttached.has(pid)) letGo()
    },
    freeze() {
      clearTimeout(stallTimer)
      frozenAttached.add(pid)
      signalTree(pid, 'SIGSTOP')
    },
    stall(ms) {
      clearTimeout(stallTimer)
      frozenAttached.add(pid)
      signalTree(pid, 'SIGSTOP')
      stallTimer = setTimeout(letGo, ms)
    },
    async restart() {
      throw new TickstormError(
        ERROR_CODES.INVALID_SCENARIO,
        `restart needs target.command: the harness cannot start a server it did not start (target.pid ${pid})`,
        { details: { pid } },
      )
    },
  }
}

interface Endpoint {
  readonly host: string
  readonly port: number
}

function endpointOf(url: string): Endpoint {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TickstormError(ERROR_CODES.INVALID_SCENARIO, `target.url is not a URL: ${url}`)
  }
  const defaultPort = parsed.protocol === 'https:' || parsed.protocol === 'wss:' ? 443 : 80
  return {
    // An IPv6 literal keeps its brackets in URL.hostname; net.connect wants it bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? defaultPort : Number(parsed.port),
  }
}

interface Spawned {
  readonly child: ChildProcess
  /** The process-group id: the shell's pid, since `detached` makes it the group leader. */
  readonly pgid: number
  /** Resolves when the group leader has exited (its descendants may outlive it). */
  readonly exited: Promise<void>
  hasExited: boolean
}

async function spawnCommand(options: TargetCommandOptions, endpoint: Endpoint): Promise<Spawned> {
  const { command, signal } = options
  signal?.throwIfAborted()
  const child = spawn('/bin/sh', ['-c', command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  })
  if (child.pid === undefined) {
    // spawn failed outright (no /bin/sh, a bad cwd): 'error' says why, 'exit' never comes.
    const cause = await new Promise<Error>((resolve) => child.once('error', resolve))
    throw new TickstormError(
      ERROR_CODES.LISTEN_FAILED,
      `could not run \`${command}\`: ${cause.message}`,
      { cause, details: { command } },
    )
  }
  const pgid = child.pid
  liveGroups.add(pgid)
  // Read for the whole life of the server, keeping only the tail: a pipe nobody reads fills up
  // and blocks a server that writes to it.
  let output = ''
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exitReason = ''
  const spawned: Spawned = {
    child,
    pgid,
    hasExited: false,
    exited: new Promise<void>((resolve) =>
      child.once('exit', (code, exitSignal) => {
        spawned.hasExited = true
        exitReason = exitSignal === null ? `exit code ${code}` : `signal ${exitSignal}`
        if (groupPids(pgid).length === 0) liveGroups.delete(pgid)
        resolve()
      }),
    ),
  }

  const timeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  const deadline = Date.now() + timeoutMs
  const where = `${endpoint.host}:${endpoint.port}`
  const fail = async (message: string, code: ErrorCode): Promise<TickstormError> => {
    signalGroup(pgid, 'SIGKILL')
    await waitForGroupExit(spawned, STOP_GRACE_MS)
    // The streams may still hold the last words of a process that just exited.
    await delay(20)
    const tail = output.trim()
    return new TickstormError(
      code,
      `${message}${tail === '' ? ' (it printed nothing)' : `; its last output:\n${tail}`}`,
      { details: { command, url: options.url, reason: exitReason, output: tail } },
    )
  }
  for (;;) {
    if (signal?.aborted) {
      await fail('aborted', ERROR_CODES.LISTEN_FAILED)
      throw signal.reason
    }
    if (spawned.hasExited) {
      throw await fail(
        `\`${command}\` ended (${exitReason}) before ${where} accepted connections; a target command must keep its server in the foreground (nginx: \`daemon off;\`)`,
        ERROR_CODES.LISTEN_FAILED,
      )
    }
    if (await accepts(endpoint)) return spawned
    if (Date.now() > deadline) {
      throw await fail(
        `\`${command}\` did not accept connections on ${where} within ${timeoutMs} ms`,
        ERROR_CODES.TARGET_UNREACHABLE,
      )
    }
    await delay(POLL_MS)
  }
}

/** Whether host:port accepts a TCP connection now (closed at once, nothing sent). */
function accepts(endpoint: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: endpoint.host, port: endpoint.port })
    socket.setTimeout(PROBE_TIMEOUT_MS)
    const done = (result: boolean): void => {
      socket.destroy()
      resolve(result)
    }
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
    socket.once('timeout', () => done(false))
  })
}

/**
 * Waits until the group leader has exited and no live process is left in its group (nginx's
 * workers outlive a SIGKILLed master for a moment). Returns false on timeout.
 */
async function waitForGroupExit(spawned: Spawned, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!spawned.hasExited || groupPids(spawned.pgid).length > 0) {
    if (Date.now() > deadline) return false
    await delay(POLL_MS)
  }
  return true
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: the group is gone already, which is what was wanted.
  }
}

function signalTree(rootPid: number, signal: NodeJS.Signals): void {
  for (const pid of treePids(rootPid)) {
    try {
      process.kill(pid, signal)
    } catch {
      // It exited between the listing and the signal.
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** The fields of /proc/<pid>/stat we use; null once the process is gone. */
interface ProcStat {
  readonly state: string
  readonly ppid: number
  readonly pgrp: number
  /** Start time in clock ticks since boot: with the pid, it names one process across pid reuse. */
  readonly startTicks: number
}

function readStat(pid: number, readText = readProcText): ProcStat | null {
  let text: string
  try {
    text = readText(`/proc/${pid}/stat`)
  } catch {
    return null
  }
  // comm (field 2) may hold spaces and ')': fields after the LAST ')' start at field 3 (state).
  const end = text.lastIndexOf(')')
  if (end < 0) return null
  const fields = text
    .slice(end + 2)
    .trim()
    .split(/\s+/)
  return {
    state: fields[0] ?? '',
    ppid: Number(fields[4 - 3]),
    pgrp: Number(fields[5 - 3]),
    startTicks: Number(fields[22 - 3]),
  }
}

function readProcText(path: string): string {
  return readFileSync(path, 'utf8')
}

/**
 * Every live process (zombies count as gone: they hold no CPU, memory or port). One small read
 * per process on the machine, once a second while sampling: a few ms with hundreds of processes,
 * and the portable way to find a tree's descendants (/proc/<pid>/task/<tid>/children exists only
 * with CONFIG_PROC_CHILDREN, and must be read for every thread).
 */
function liveStats(readText = readProcText): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = readStat(Number(name), readText)
    if (stat !== null && stat.state !== 'Z' && stat.state !== 'X') stats.set(Number(name), stat)
  }
  return stats
}

function groupPids(pgid: number): number[] {
  return [...liveStats()].filter(([, stat]) => stat.pgrp === pgid).map(([pid]) => pid)
}

/**
 * `rootPid` and its live descendants, root first, from the ppid fields of /proc/<pid>/stat; empty
 * once the root is gone. A descendant that detached itself (a daemon's double fork re-parents it
 * to init) is no longer found: a target must run its server in the foreground.
 */
export function treePids(rootPid: number): number[] {
  return treeOf(rootPid, liveStats())
}

function treeOf(rootPid: number, stats: ReadonlyMap<number, ProcStat>): number[] {
  if (!stats.has(rootPid)) return []
  const children = new Map<number, number[]>()
  for (const [pid, stat] of stats) {
    const siblings = children.get(stat.ppid)
    if (siblings === undefined) children.set(stat.ppid, [pid])
    else siblings.push(pid)
  }
  const tree = [rootPid]
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []))
  return tree
}

/**
 * `createProcessSampler` for a process tree: CPU and RSS summed over the root and its descendants
 * at each sample (nginx's master does little; its workers do the work). The root may be a
 * function, so the sampler follows a target's current pid across restarts.
 *
 * CPU is counted per process (pid and start time), so a worker that appears between two samples
 * adds only its own time and one that exits takes nothing back; the time a process used after
 * the last sample that saw it is lost (at most one interval of it). RSS summed over processes
 * counts pages they share (a forked worker's copy-on-write pages) once per process: an upper
 * bound of what the tree holds.
 */
export function createProcessTreeSampler(
  rootPid: number | (() => number),
  options: ProcessSamplerOptions = {},
): ProcessSampler {
  const ticksPerSec = options.clockTicksPerSec ?? 100
  const readText = options.readText ?? readProcText
  const clock = options.nowMs ?? Date.now
  const root = typeof rootPid === 'function' ? rootPid : () => rootPid
  const samples: ProcessSample[] = []
  let lastTicks = new Map<string, number>()
  let lastAtMs: number | null = null
  let totalTicks = 0
  let timer: NodeJS.Timeout | undefined

  function sample(nowMs: number): ProcessSample | null {
    const stats = liveStats(readText)
    const pids = treeOf(root(), stats)
    if (pids.length === 0) throw new RangeError(`process ${root()} has exited`)
    const ticks = new Map<string, number>()
    let deltaTicks = 0
    let rssBytes = 0
    for (const pid of pids) {
      try {
        const used = parseProcStatCpuTicks(readText(`/proc/${pid}/stat`))
        const key = `${pid}@${stats.get(pid)!.startTicks}`
        ticks.set(key, used)
        deltaTicks += used - (lastTicks.get(key) ?? 0)
        rssBytes += parseProcStatusRssBytes(readText(`/proc/${pid}/status`))
      } catch {
        // It exited between the listing and the read: it holds nothing now.
      }
    }
    const previousAtMs = lastAtMs
    lastTicks = ticks
    lastAtMs = nowMs
    if (previousAtMs === null) return null
    totalTicks += deltaTicks
    const elapsedSec = (nowMs - previousAtMs) / 1000
    const cpuPercent = elapsedSec > 0 ? (deltaTicks / ticksPerSec / elapsedSec) * 100 : 0
    const result: ProcessSample = Object.freeze({ atMs: nowMs, cpuPercent, rssBytes })
    samples.push(result)
    return result
  }

  return {
    get pid() {
      return root()
    },
    sample,
    start(intervalMs = 1000): void {
      if (timer !== undefined) return
      sample(clock())
      timer = setInterval(() => {
        try {
          sample(clock())
        } catch {
          // The root is gone. A fixed pid is gone for good: its last samples stand. A followed
          // one may be between a kill and its restart: the next sample that finds a root goes on
          // (its processes are new, so all their time is counted).
          if (typeof rootPid === 'number') clearInterval(timer)
        }
      }, intervalMs)
      timer.unref()
    },
    stop(): void {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
    get samples() {
      return samples
    },
    summary: (fromMs = Number.NEGATIVE_INFINITY): ProcessSummary =>
      summarizeSamples(samples, fromMs, (totalTicks / ticksPerSec) * 1e6),
  }
}
