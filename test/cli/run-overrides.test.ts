// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in scenario text is what these tests are about
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-run-overrides-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Three transports, 30 subscribers, 5 s of warm-up: what the overrides below cut down. */
const SMALL = `name: small
description: a small run through the real CLI
target: embedded
server: { preset: normal, seed: 3 }
transports: [sse, longpoll, ws]
subscribers: { count: 30, rampPerSec: 300, watchList: { size: 8, pick: zipf } }
warmupSec: 5
durationSec: 20
workers: 1
`

async function scenario(name: string, body: string): Promise<string> {
  const path = join(dir, `${name}.yaml`)
  await writeFile(path, body)
  return path
}

/** The parts of result.json these tests read. */
interface Result {
  scenario: {
    parsed: {
      subscribers: { count: number }
      durationSec: number
      warmupSec: number
      transports: string[]
      thresholds: Record<string, unknown>
    }
  }
  transports: { transport: string }[]
}

async function onlyResult(results: string): Promise<Result> {
  const [resultDir] = await readdir(results)
  return JSON.parse(await readFile(join(results, resultDir!, 'result.json'), 'utf8')) as Result
}

describe('tickstorm run: overrides and environment variables', () => {
  test('run --help documents every override and the variables', async () => {
    const help = tickstorm(['run', '--help'])
    expect(await help.exit).toBe(0)
    for (const flag of [
      '--subscribers <n>',
      '--duration <d>',
      '--warmup <d>',
      '--transports <list>',
      '--target <url>',
      '--rate <n>',
      '--set <path=value>',
      '${VAR:-default}',
      '$${',
    ]) {
      expect(help.stdout()).toContain(flag)
    }
  })

  test('--subscribers, --duration, --warmup and --transports make the run, and result.json records it', async () => {
    const file = await scenario('small', SMALL)
    const results = join(dir, 'results')
    const run = tickstorm([
      'run',
      file,
      '--results',
      results,
      '--subscribers',
      '5',
      '--duration',
      '2s',
      '--warmup',
      '0',
      '--transports',
      'sse',
      '--set',
      'thresholds.p99Ms=5000',
    ])
    expect(await run.exit, `${run.stderr()}\n${run.stdout()}`).toBe(0)
    expect(run.stderr()).toContain(
      'overrides: subscribers.count=5 (--subscribers 5), durationSec=2 (--duration 2s), warmupSec=0 (--warmup 0), transports=["sse"] (--transports sse), thresholds.p99Ms=5000 (--set thresholds.p99Ms=5000)',
    )
    expect(run.stdout()).toContain('SSE: 5 of 5 subscribers connected, 2.0 s measured')
    expect(run.stdout()).not.toContain('WebSocket')
    const result = await onlyResult(results)
    const parsed = result.scenario.parsed
    expect(parsed.subscribers.count).toBe(5)
    expect(parsed.durationSec).toBe(2)
    expect(parsed.warmupSec).toBe(0)
    expect(parsed.transports).toEqual(['sse'])
    expect(parsed.thresholds).toEqual({ p99Ms: 5000 })
    expect(result.transports.map((t) => t.transport)).toEqual(['sse'])
  })

  test('a bad override exits 2 naming the flag, with every problem at once', async () => {
    const file = await scenario('bad', SMALL)
    const run = tickstorm([
      'run',
      file,
      '--subscribers',
      '0',
      '--duration',
      'soon',
      '--set',
      'subscribers.colour=red',
    ])
    expect(await run.exit).toBe(2)
    const stderr = run.stderr()
    expect(stderr).toContain('[TS_ERR_INVALID_SCENARIO]')
    expect(stderr).toContain('  - `--subscribers` (subscribers.count) must be ≥ 1, got 0')
    expect(stderr).toContain(
      '  - `--duration` must be a duration like 30, 30s, 2m, 1m30s or 500ms, got "soon"',
    )
    expect(stderr).toContain('  - `--set` (subscribers.colour) is not a known key, got "red"')
  })

  test('${SUBS:-3} in a scenario file takes SUBS from the environment; unset with no default is exit 2', async () => {
    const file = await scenario(
      'env',
      SMALL.replace('count: 30', 'count: ${SUBS:-3}').replace(
        'durationSec: 20',
        'durationSec: ${SECS}',
      ),
    )
    const results = join(dir, 'env-results')
    const run = tickstorm(
      ['run', file, '--results', results, '--warmup', '0', '--duration', '1', '--transports', 'ws'],
      { SUBS: '4', SECS: '9' },
    )
    expect(await run.exit, `${run.stderr()}\n${run.stdout()}`).toBe(0)
    expect(run.stdout()).toContain('WebSocket: 4 of 4 subscribers connected')
    const parsed = (await onlyResult(results)).scenario.parsed
    expect(parsed.subscribers.count).toBe(4)
    expect(parsed.durationSec).toBe(1)
    const unset = tickstorm(['run', file], { SUBS: '4', SECS: undefined })
    expect(await unset.exit).toBe(2)
    expect(unset.stderr()).toContain(
      '  - line 8: ${SECS} is not set (give it a value or write ${SECS:-default})',
    )
  })
})
