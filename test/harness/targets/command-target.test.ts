import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { ERROR_CODES } from '../../../src/errors.js'
import { runScenario } from '../../../src/harness/runner.js'
import { parseScenario } from '../../../src/harness/scenario.js'
import { accepts } from '../../deploy/nginx-process.js'
import { freePort } from '../../helpers/free-port.js'

/**
 * A server the harness starts itself (`target.command`): nginx with nchan from
 * bench/peers/nchan.conf, in a temp dir, on a free port. The harness samples CPU and RSS over
 * nginx's process tree (master and worker), freezes it for a `stall` fault, measures what it
 * published into it, and leaves no nginx behind.
 */

const NGINX = '/usr/sbin/nginx'
const TEMPLATE = new URL('../../../bench/peers/nchan.conf', import.meta.url)

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A temp dir with nchan.conf filled in for `port`, and the command that runs nginx on it. */
function nchanCommand(port: number): { dir: string; command: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tickstorm-command-'))
  dirs.push(dir)
  // Run as root, nginx's worker drops to `nobody`, who must reach the temp paths under `dir`.
  chmodSync(dir, 0o755)
  const config = readFileSync(TEMPLATE, 'utf8')
    .replaceAll('{{DIR}}', dir)
    .replaceAll('{{PORT}}', String(port))
  writeFileSync(join(dir, 'nginx.conf'), config)
  return { dir, command: `${NGINX} -p ${dir} -c ${dir}/nginx.conf -e ${dir}/error.log` }
}

interface ProcEntry {
  readonly pid: number
  readonly pgid: number
  /** `R`, `S`, …; `Z`: a zombie, exited and holding nothing, until its parent reaps it. */
  readonly state: string
  readonly cmdline: string
  readonly rssBytes: number
}

/** Every live process, with its process group, command line and RSS, from /proc. */
function processes(): ProcEntry[] {
  const entries: ProcEntry[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // The fields after `(comm)`: state, ppid, pgrp, …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))
      entries.push({
        pid: Number(name),
        pgid: Number(fields[2]),
        state: fields[0] ?? '',
        cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' '),
        rssBytes: rss === null ? 0 : Number(rss[1]) * 1024,
      })
    } catch {
      // It exited while being read.
    }
  }
  return entries
}

describe('a target the harness starts with target.command', () => {
  test('nginx with nchan: sampled over its process tree, stalled, measured, and stopped', async () => {
    const port = await freePort()
    const { dir, command } = nchanCommand(port)
    const scenario = parseScenario(
      [
        'name: command-target',
        'description: nchan in an nginx the harness starts, stalls and stops',
        'target:',
        '  kind: nchan',
        `  url: http://127.0.0.1:${port}`,
        `  command: "${command}"`,
        'source: harness',
        'server: { preset: normal, symbols: 20, ratePerSec: 200, seed: 1 }',
        'transports: [sse]',
        'subscribers: { count: 10, watchList: { size: 5 } }',
        'warmupSec: 1',
        'durationSec: 4',
        'faults: [ { atSec: 1, kind: stall, durationSec: 1 } ]',
        'thresholds: { maxLossRatio: 0 }',
      ].join('\n'),
      'command-target.yaml',
    )
    // What ran when the target came up, before any subscriber: nginx's processes in its group.
    const started: { pid: number | null; group: ProcEntry[] }[] = []
    const { result } = await runScenario(scenario, {
      serverBin: 'unused',
      scenarioFile: 'command-target.yaml',
      commit: 'test',
      workers: 0,
      retryMs: 100,
      onTarget: (_url, target) => {
        const group = processes().filter((entry) => entry.pgid === target.pid)
        started.push({ pid: target.pid, group })
      },
    })

    // The harness started the command in a process group of its own: nginx's master and worker.
    expect(started).toHaveLength(1)
    const { pid, group } = started[0]!
    expect(pid).toBeGreaterThan(0)
    // nginx renames its processes: `nginx: master process …`, `nginx: worker process`.
    const nginxes = group.filter((entry) => entry.cmdline.startsWith('nginx: '))
    expect(nginxes.map((entry) => entry.cmdline.split(' ')[1])).toEqual(['master', 'worker'])

    expect(result.targetKind).toBe('nchan')
    expect(result.source).toBe('harness')
    expect(result.transports).toHaveLength(1)
    const sse = result.transports[0]!
    expect(sse.failure).toBeUndefined()

    // CPU and RSS of the whole tree: more memory than any one of its processes holds alone.
    expect(sse.server).not.toBeNull()
    const server = sse.server!
    expect(server.cpuPercentAvg).toBeGreaterThan(0)
    expect(server.cpuPercentMax).toBeGreaterThanOrEqual(server.cpuPercentAvg)
    const largest = Math.max(...nginxes.map((entry) => entry.rssBytes))
    expect(server.rssBytesMax).toBeGreaterThan(largest)

    // The stall was carried out (no note says otherwise) …
    expect(sse.faults).toEqual([{ atSec: 1, kind: 'stall', fraction: 1 }])
    // … and the run still delivered, with loss counted against what the publisher sent.
    expect(sse.deliveries).toBeGreaterThan(0)
    expect(sse.publisher?.published).toBeGreaterThan(0)
    expect(sse.lossCountedAgainst).toBe('sent')
    expect(sse.tailLost).toBe(0)
    // The publisher feeds the frozen server too: its publishes wait out the stall, which is the
    // server's latency (acknowledged a second late, and every subscriber's latency with it), not
    // the harness falling behind: its own frames ran on time, and the run is judged as measured.
    expect(sse.publisher?.lagUs.max).toBeGreaterThanOrEqual(900_000)
    expect(sse.latencyUs.max).toBeGreaterThanOrEqual(900_000)

    // Nothing of the command is left: no live process in its group or naming its dir, the port
    // closed. (nginx's master, its shell killed first, may linger a moment as a zombie, exited
    // and holding nothing, until init reaps it: the harness counts it gone too.)
    const left = processes().filter(
      (entry) => entry.state !== 'Z' && (entry.pgid === pid || entry.cmdline.includes(dir)),
    )
    expect(left).toEqual([])
    expect(await accepts(port)).toBe(false)
  }, 30_000)

  test('restart against a target given by pid but no command is refused, naming faults[0].kind', () => {
    const parse = () =>
      parseScenario(
        [
          'name: restart-by-pid',
          'description: a restart the harness could not carry out',
          'target: { kind: nchan, url: http://127.0.0.1:18080, pid: 12345 }',
          'source: harness',
          'server: { preset: normal, symbols: 20, ratePerSec: 200, seed: 1 }',
          'transports: [sse]',
          'subscribers: { count: 1, watchList: { size: 1 } }',
          'durationSec: 5',
          'faults: [ { atSec: 1, kind: restart } ]',
        ].join('\n'),
        'restart-by-pid.yaml',
      )
    expect(parse).toThrow(
      expect.objectContaining({
        code: ERROR_CODES.INVALID_SCENARIO,
        details: expect.objectContaining({
          problems: [expect.stringMatching(/^`faults\[0\]\.kind` restart needs target\.command/)],
        }),
      }),
    )
  })
})
