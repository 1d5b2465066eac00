import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RunResult } from '../../src/report/result-schema.js'
import { writeResultDir } from '../../src/report/write-result.js'
import { tickstorm } from '../helpers/cli.js'
import { fullRun } from '../report/fixtures.js'

let root: string

/**
 * Writes a result directory of a one-transport (SSE) run of scenario `name` with `subscribers`,
 * its latencies × `scale`: what `tickstorm run` writes, built from fixtures instead of a run.
 */
async function resultDir(
  dir: string,
  options: { name: string; subscribers: number; scale?: number },
): Promise<string> {
  const { result, hlogs } = fullRun({ sse: options.scale ?? 1 })
  const written: RunResult = {
    ...result,
    schemaVersion: 5,
    targetKind: 'tickstorm',
    source: 'server',
    scenario: {
      name: options.name,
      file: `scenarios/${options.name}.yaml`,
      parsed: {
        name: options.name,
        description: 'SSE fan-out',
        target: 'embedded',
        server: { preset: 'normal', seed: 1, frameMs: 5, speed: 1, ratePerSec: 250 },
        transports: ['sse'],
        subscribers: {
          count: options.subscribers,
          rampPerSec: 500,
          watchList: { size: 10, pick: 'zipf', seed: 1 },
          rampSec: null,
        },
        durationSec: 3,
        warmupSec: 5,
        executor: 'constant',
        faults: [],
      },
    },
    transports: result.transports.map((t) => ({
      ...t,
      subscribers: { ...t.subscribers, asked: options.subscribers },
    })),
  }
  const path = join(root, dir)
  await writeResultDir(path, written, hlogs)
  return path
}

let small: string
let large: string
let largeSlower: string
let renamed: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tickstorm-cli-compare-'))
  small = await resultDir('small', { name: 'fanout', subscribers: 300 })
  large = await resultDir('large', { name: 'fanout', subscribers: 1000 })
  largeSlower = await resultDir('large-slower', { name: 'fanout', subscribers: 1000, scale: 1.2 })
  renamed = await resultDir('renamed', { name: 'fanout-v2', subscribers: 300 })
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

const DIFFERENCES = [
  'subscribers.count: baseline has 300, candidate has 1000',
  'sse subscribers asked: baseline has 300, candidate has 1000',
]

describe('tickstorm compare checks the workload', () => {
  test('runs of different workloads under one name: exit 2, every difference listed', async () => {
    const run = tickstorm(['compare', small, large])
    expect(await run.exit, run.stderr()).toBe(2)
    expect(run.stderr()).toContain(
      `tickstorm: cannot compare: these runs did not carry the same workload:\n  - ${DIFFERENCES.join('\n  - ')}\n`,
    )
    expect(run.stderr()).toContain('pass --force')
    expect(run.stderr()).toContain('[TS_ERR_USAGE]')
    expect(run.stdout()).toBe('')
  })

  test('--force compares them, exiting as a compare does, after a WARNING; the page says it too', async () => {
    const html = join(root, 'forced.html')
    const run = tickstorm(['compare', small, largeSlower, '--force', '--html', html])
    // The candidate's latencies are 20% higher: a regression, exit 3 as without the check.
    expect(await run.exit, run.stderr()).toBe(3)
    expect(run.stdout()).toMatch(
      new RegExp(
        `^WARNING: these runs did not carry the same workload:\\n  - ${DIFFERENCES.join('\\n  - ')}\\n\\nbaseline `,
      ),
    )
    expect(run.stdout()).toContain(
      'REGRESSION (beyond ±5% noise), between runs of different workloads (see the WARNING above)',
    )
    const page = await readFile(html, 'utf8')
    expect(page).toContain(
      `<div class="invalid">WARNING: these runs did not carry the same workload:<ul><li>${DIFFERENCES[0]}</li><li>${DIFFERENCES[1]}</li></ul>`,
    )
  })

  test('--force on runs that do not differ in workload and figures: exit 0', async () => {
    const run = tickstorm(['compare', large, large, '--force'])
    expect(await run.exit, run.stderr()).toBe(0)
    expect(run.stdout()).not.toContain('WARNING')
  })

  test('the same workload under another scenario name compares, with every figure', async () => {
    const run = tickstorm(['compare', small, renamed])
    expect(await run.exit, run.stderr()).toBe(0)
    const out = run.stdout()
    expect(out).toContain('(fanout, commit fe3c4ba)')
    expect(out).toContain('(fanout-v2, commit fe3c4ba)')
    expect(out).not.toContain('WARNING')
    for (const metric of [
      'p99 ',
      'deliveries/s',
      'server CPU/delivery',
      'loss ratio',
      'error rate',
      'connect p99',
      'recovery p99',
    ]) {
      expect(out).toContain(`\n${metric}`)
    }
    expect(out.endsWith('no regression beyond ±5% noise\n')).toBe(true)
  })
})
