import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

/**
 * `tickstorm run --repeat N` through the real CLI on a tiny embedded scenario: the set on disk,
 * what it prints, its exit codes, a signal, and `compare` reading the set back.
 */

let dir: string
let scenario: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-repeat-'))
  scenario = join(dir, 'tiny.yaml')
  await writeFile(
    scenario,
    `name: tiny
description: a tiny scenario to repeat
target: embedded
server: { preset: normal, seed: 3 }
transports: [sse]
subscribers: { count: 30, rampPerSec: 300, watchList: { size: 8, pick: zipf } }
warmupSec: 1
durationSec: 3
workers: 1
thresholds: { p99Ms: 5000 }
`,
  )
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const TINY = ['--subscribers', '5', '--duration', '2s', '--warmup', '0']

/** The one set directory under `results`. */
async function theSet(results: string): Promise<string> {
  const entries = await readdir(results)
  expect(entries).toHaveLength(1)
  return join(results, entries[0]!)
}

describe('tickstorm run --repeat', () => {
  test('three runs into a set, a line each and a summary; compare of the set with itself finds no change', async () => {
    const results = join(dir, 'results')
    const run = tickstorm(['run', scenario, '--repeat', '3', ...TINY, '--results', results])
    expect(await run.exit, `${run.stderr()}\n${run.stdout()}`).toBe(0)
    const out = run.stdout()
    for (const i of [1, 2, 3]) {
      expect(out).toMatch(
        new RegExp(`^run ${i}/3  PASSED  \\(sse p99 [\\d.]+ [µm]?s, [\\d,]+/s\\)$`, 'm'),
      )
    }
    // The summary: each main figure's median and spread over the three runs.
    expect(out).toContain('\nSSE over 3 runs\n')
    expect(out).toMatch(/\nmetric +median +lowest +highest +spread\n/)
    for (const metric of ['p50', 'p99', 'deliveries/s', 'loss ratio', 'error rate']) {
      expect(out).toMatch(new RegExp(`\\n${metric.replace('/', '\\/')} +\\S`))
    }
    expect(out).toContain('\nPASSED: 3 of 3 runs\n')

    const set = await theSet(results)
    expect(set).toMatch(/\/\d{8}T\d{6}Z-tiny-x3$/)
    expect(out.endsWith(`set: ${set}\n`)).toBe(true)
    expect((await readdir(set)).sort()).toEqual(['run-1', 'run-2', 'run-3', 'set.json'])
    const manifest = JSON.parse(await readFile(join(set, 'set.json'), 'utf8'))
    expect(manifest).toMatchObject({
      setVersion: 1,
      scenario: { name: 'tiny', file: scenario },
      repeat: 3,
      interrupted: false,
    })
    expect(Date.parse(manifest.endedAt)).toBeGreaterThan(Date.parse(manifest.startedAt))
    const runIds: string[] = []
    for (const [i, entry] of manifest.runs.entries()) {
      expect(entry).toMatchObject({ dir: `run-${i + 1}`, verdict: 'PASSED', reasons: [] })
      // Each run is an ordinary result directory, its id the one in set.json.
      const result = JSON.parse(await readFile(join(set, entry.dir, 'result.json'), 'utf8'))
      expect(result.runId).toBe(entry.runId)
      expect(result.scenario.parsed.subscribers.count).toBe(5)
      expect(existsSync(join(set, entry.dir, 'sse.hlog'))).toBe(true)
      runIds.push(entry.runId)
    }
    expect(new Set(runIds).size).toBe(3)

    const compare = tickstorm(['compare', set, set])
    expect(await compare.exit, compare.stderr()).toBe(0)
    expect(compare.stdout()).toContain('(tiny, commit')
    expect(compare.stdout()).toContain(', 3 runs)')
    expect(compare.stdout()).toContain('95% interval')
    expect(compare.stdout()).toContain(
      "\nno significant change: every figure's 95% interval holds zero (bootstrap over 3 and 3 runs, 10,000 resamples, seed 1)\n",
    )
    // A run of the set is a result directory like any other.
    const single = tickstorm(['compare', join(set, 'run-1'), join(set, 'run-1')])
    expect(await single.exit, single.stderr()).toBe(0)
    expect(single.stdout()).toContain('no regression beyond ±5% noise')
  }, 120_000)

  test('a failing threshold in the runs: exit 3, each run FAILED in set.json', async () => {
    const results = join(dir, 'failing')
    const run = tickstorm([
      'run',
      scenario,
      '--repeat',
      '2',
      ...TINY,
      '--set',
      'thresholds.minDeliveriesPerSec=100000000',
      '--results',
      results,
    ])
    expect(await run.exit, `${run.stderr()}\n${run.stdout()}`).toBe(3)
    // The verdict's own words for the threshold, whatever they are: the line and set.json agree.
    expect(run.stdout()).toMatch(/^run 1\/2 {2}FAILED: sse \S/m)
    expect(run.stdout()).toContain('\nFAILED: 2 of 2 runs did not pass\n')
    const manifest = JSON.parse(await readFile(join(await theSet(results), 'set.json'), 'utf8'))
    expect(manifest.runs.map((r: { verdict: string }) => r.verdict)).toEqual(['FAILED', 'FAILED'])
    expect(manifest.runs[0].reasons[0]).toMatch(/^sse \S/)
    expect(run.stdout()).toContain(`run 1/2  FAILED: ${manifest.runs[0].reasons.join('; ')}`)
  }, 90_000)

  test('SIGINT stops the run under way, starts no other, and keeps the set marked interrupted', async () => {
    const results = join(dir, 'interrupted')
    const run = tickstorm([
      'run',
      scenario,
      '--repeat',
      '3',
      '--subscribers',
      '5',
      '--duration',
      '60s',
      '--warmup',
      '0',
      '--results',
      results,
    ])
    await waitFor(
      'the first run to connect its subscribers',
      () => run.stderr().includes('[sse]  5 subscribers connected in'),
      { timeoutMs: 30_000, state: () => run.stderr() },
    )
    run.child.kill('SIGINT')
    expect(await run.exit, run.stderr()).toBe(130)
    expect(run.stderr()).toContain('SIGINT: stopping this run')
    expect(run.stdout()).toMatch(/^run 1\/3 {2}INTERRUPTED: SIGINT during the sse measurement/m)
    expect(run.stdout()).toContain('\nINTERRUPTED after 1 of 3 runs\n')
    const set = await theSet(results)
    expect((await readdir(set)).sort()).toEqual(['run-1', 'set.json'])
    const manifest = JSON.parse(await readFile(join(set, 'set.json'), 'utf8'))
    expect(manifest.interrupted).toBe(true)
    expect(manifest.runs).toHaveLength(1)
    expect(manifest.runs[0]).toMatchObject({ dir: 'run-1', verdict: 'INTERRUPTED' })
    // Nothing finished: there is nothing to compare.
    const compare = tickstorm(['compare', set, set])
    expect(await compare.exit).toBe(2)
    expect(compare.stderr()).toContain(
      `the set ${set} has no finished run to compare (run-1 (interrupted))`,
    )
  }, 60_000)

  test('--repeat outside 2..50, or with a flag that writes one file per run: exit 2', async () => {
    for (const [args, message] of [
      [['--repeat', '1'], '--repeat must be a whole number from 2 to 50, got "1"'],
      [['--repeat', '51'], '--repeat must be a whole number from 2 to 50, got "51"'],
      [['--repeat', 'x'], '--repeat must be a whole number from 2 to 50, got "x"'],
      [
        ['--repeat', '3', '--junit', join(dir, 'j.xml')],
        "--junit writes one run's file and cannot take a set",
      ],
    ] as const) {
      const run = tickstorm(['run', scenario, ...args, '--results', join(dir, 'never')])
      expect(await run.exit, run.stderr()).toBe(2)
      expect(run.stderr()).toContain(message)
      expect(run.stderr()).toContain('[TS_ERR_USAGE]')
    }
    expect(existsSync(join(dir, 'never'))).toBe(false)
  })

  test('run --help describes --repeat', async () => {
    const run = tickstorm(['run', '--help'])
    expect(await run.exit).toBe(0)
    expect(run.stdout()).toContain('--repeat <n>')
    expect(run.stdout()).toContain('set.json')
  })
})
