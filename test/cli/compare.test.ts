import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { RESULT_SCHEMA_VERSION, type RunResult } from '../../src/report/result-schema.js'
import { type SetManifest, writeSetManifest } from '../../src/report/result-set.js'
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
    // As a run writes it today: the version that carries every field the fixture fills in.
    schemaVersion: RESULT_SCHEMA_VERSION,
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

/**
 * A set directory as `run --repeat` writes it: run-1 … run-n (run i's latencies × scales[i]) and
 * set.json; `interrupted` marks the last run as cut by a signal.
 */
async function setDir(
  dir: string,
  options: { name: string; subscribers: number; scales: readonly number[]; interrupted?: boolean },
): Promise<string> {
  const runs: SetManifest['runs'] = []
  for (const [i, scale] of options.scales.entries()) {
    const run = `run-${i + 1}`
    await resultDir(join(dir, run), { ...options, scale })
    const cut = options.interrupted === true && i === options.scales.length - 1
    runs.push({
      dir: run,
      runId: '20251124T060000Z-compare-transports',
      verdict: cut ? 'INTERRUPTED' : 'PASSED',
      reasons: cut ? ['SIGINT during the sse measurement'] : [],
    })
  }
  const path = join(root, dir)
  await writeSetManifest(path, {
    setVersion: 1,
    scenario: { name: options.name, file: `scenarios/${options.name}.yaml` },
    repeat: options.scales.length,
    startedAt: '2025-11-24T06:00:00.000Z',
    endedAt: '2025-11-24T06:05:00.000Z',
    interrupted: options.interrupted === true,
    runs,
  })
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

describe('tickstorm compare of sets (run --repeat)', () => {
  let quiet: string
  let quietAgain: string
  let slower: string
  let pair: string
  let bigger: string
  let cut: string
  beforeAll(async () => {
    quiet = await setDir('quiet-x4', {
      name: 'fanout',
      subscribers: 300,
      scales: [1, 1.02, 0.98, 1.01],
    })
    quietAgain = await setDir('quiet-again-x4', {
      name: 'fanout',
      subscribers: 300,
      scales: [1.01, 0.99, 1, 1.02],
    })
    slower = await setDir('slower-x3', {
      name: 'fanout',
      subscribers: 300,
      scales: [1.2, 1.22, 1.18],
    })
    pair = await setDir('pair-x2', { name: 'fanout', subscribers: 300, scales: [1, 1.01] })
    bigger = await setDir('bigger-x3', { name: 'fanout', subscribers: 1000, scales: [1, 1, 1] })
    cut = await setDir('cut-x4', {
      name: 'fanout',
      subscribers: 300,
      scales: [1, 1.02, 0.98, 5],
      interrupted: true,
    })
  })

  test('a set against itself: exit 0, no significant change, intervals shown', async () => {
    const html = join(root, 'sets.html')
    const run = tickstorm(['compare', quiet, quiet, '--html', html])
    expect(await run.exit, run.stderr()).toBe(0)
    const out = run.stdout()
    expect(out).toContain('baseline  quiet-x4 (fanout, commit fe3c4ba, 4 runs)')
    expect(out).toMatch(
      /\nmetric +baseline mean +candidate mean +change +relative +95% interval +verdict\n/,
    )
    expect(out).toMatch(/\np99 .* −\d+\.\d% … \+\d+\.\d% +no significant change\n/)
    expect(out).toContain(
      "\nno significant change: every figure's 95% interval holds zero (bootstrap over 4 and 4 runs, 10,000 resamples, seed 1)\n",
    )
    const page = await readFile(html, 'utf8')
    expect(page).toContain('<th>95% interval</th>')
    expect(page).toContain('no significant change')
  })

  test('two sets of the same noise: exit 0; a clear shift: exit 3, its intervals above zero', async () => {
    const same = tickstorm(['compare', quiet, quietAgain])
    expect(await same.exit, same.stderr()).toBe(0)
    expect(same.stdout()).toContain('no significant change: every figure')
    const run = tickstorm(['compare', quiet, slower])
    expect(await run.exit, run.stderr()).toBe(3)
    expect(run.stdout()).toMatch(/\np99 .* \+\d+\.\d% … \+\d+\.\d% +worse\n/)
    expect(run.stdout()).toContain(
      "REGRESSION: a figure's 95% interval lies wholly on the worse side of zero (bootstrap over 4 and 3 runs, 10,000 resamples, seed 1)",
    )
    // The same sets print the same intervals, run after run.
    const again = tickstorm(['compare', quiet, slower])
    expect(await again.exit).toBe(3)
    expect(again.stdout()).toBe(run.stdout())
  })

  test('a set of 2 falls back to --noise, and says so', async () => {
    const run = tickstorm(['compare', pair, slower, '--noise', '30'])
    expect(await run.exit, run.stderr()).toBe(0)
    expect(run.stdout()).toContain(
      'warning: the baseline has 2 runs, the candidate 3 runs: a confidence interval needs at least 3 runs on each side (run --repeat 3 or more), so the means are judged against the ±30% noise band instead',
    )
    expect(run.stdout()).not.toContain('95% interval')
    expect(run.stdout()).toContain(
      'no regression beyond ±30% noise (means of the sets, too few runs for an interval)',
    )
    const narrow = tickstorm(['compare', pair, slower])
    expect(await narrow.exit, narrow.stderr()).toBe(3)
  })

  test('sets of different workloads are refused, every difference listed; --force compares', async () => {
    const run = tickstorm(['compare', quiet, bigger])
    expect(await run.exit, run.stderr()).toBe(2)
    expect(run.stderr()).toContain(
      `cannot compare: these runs did not carry the same workload:\n  - ${DIFFERENCES.join('\n  - ')}\n`,
    )
    const forced = tickstorm(['compare', quiet, bigger, '--force'])
    expect(await forced.exit, forced.stderr()).toBe(0)
    expect(forced.stdout()).toMatch(/^WARNING: these runs did not carry the same workload:/)
  })

  test("a set's interrupted run is left out, and said so", async () => {
    const run = tickstorm(['compare', cut, quiet])
    expect(await run.exit, run.stderr()).toBe(0)
    expect(run.stdout()).toContain("warning: the baseline set's run-4 (interrupted) is left out")
    expect(run.stdout()).toContain('baseline  cut-x4 (fanout, commit fe3c4ba, 3 runs)')
  })

  test('a single run against a set: the noise band, said so', async () => {
    const run = tickstorm(['compare', small, slower])
    expect(await run.exit, run.stderr()).toBe(3)
    expect(run.stdout()).toContain('warning: the baseline has 1 run, the candidate 3 runs:')
    expect(run.stdout()).toContain('REGRESSION (beyond ±5% noise) (means of the sets')
  })
})

describe('tickstorm compare --noise', () => {
  test('the band for two single runs: a 20% shift is within ±25%, beyond ±5%', async () => {
    const wide = tickstorm(['compare', large, largeSlower, '--noise', '25'])
    expect(await wide.exit, wide.stderr()).toBe(0)
    expect(wide.stdout().endsWith('no regression beyond ±25% noise\n')).toBe(true)
    const fractional = tickstorm(['compare', large, largeSlower, '--noise', '2.5'])
    expect(await fractional.exit, fractional.stderr()).toBe(3)
    expect(fractional.stdout().endsWith('REGRESSION (beyond ±2.5% noise)\n')).toBe(true)
  })

  test('not a percentage from 0 to 100: exit 2', async () => {
    const run = tickstorm(['compare', large, large, '--noise', 'lots'])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain('--noise must be a percentage from 0 to 100, got "lots"')
  })

  test('--help names sets, the interval and --noise', async () => {
    const run = tickstorm(['compare', '--help'])
    expect(await run.exit).toBe(0)
    expect(run.stdout()).toContain('--noise <pct>')
    expect(run.stdout()).toContain('run --repeat N')
    expect(run.stdout()).toContain('no significant change')
  })
})
