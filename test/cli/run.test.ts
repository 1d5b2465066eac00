import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-run-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function scenario(name: string, body: string): Promise<string> {
  const path = join(dir, `${name}.yaml`)
  await writeFile(path, body)
  return path
}

const SMALL = (name: string, thresholds: string) => `name: ${name}
description: a small run through the real CLI
target: embedded
server: { preset: normal, seed: 3 }
transports: [sse, longpoll, ws]
subscribers: { count: 30, rampPerSec: 300, watchList: { size: 8, pick: zipf } }
warmupSec: 1
durationSec: 2
workers: 1
thresholds: ${thresholds}
`

describe('tickstorm run, report and compare', () => {
  test('a scenario runs over three transports, writes its results, and report/compare read them', async () => {
    const file = await scenario('small', SMALL('small', '{ p99Ms: 5000, maxLossRatio: 0 }'))
    const results = join(dir, 'results')
    const run = tickstorm(['run', file, '--results', results])
    expect(await run.exit, run.stderr()).toBe(0)
    const out = run.stdout()
    for (const label of ['SSE', 'Long polling', 'WebSocket']) expect(out).toContain(label)
    expect(out).toContain('PASSED')
    const [resultDir] = await readdir(results)
    expect(resultDir).toMatch(/^\d{8}T\d{6}Z-small$/)
    const path = join(results, resultDir!)
    for (const name of ['result.json', 'sse.hlog', 'longpoll.hlog', 'ws.hlog', 'report.html']) {
      expect(existsSync(join(path, name)), name).toBe(true)
    }
    const report = tickstorm(['report', path])
    expect(await report.exit, report.stderr()).toBe(0)
    expect(report.stdout()).toContain('WebSocket')
    const compare = tickstorm(['compare', path, path, '--html', join(dir, 'compare.html')])
    expect(await compare.exit, compare.stderr()).toBe(0)
    expect(compare.stdout()).toContain('p99')
    expect(existsSync(join(dir, 'compare.html'))).toBe(true)
  })

  test('the http transport puts /v1/snapshot and /v1/symbols under autocannon', async () => {
    const file = await scenario(
      'http',
      SMALL('http', '{ maxErrorRate: 0 }')
        .replace('[sse, longpoll, ws]', '[http]')
        .replace('count: 30', 'count: 4'),
    )
    const results = join(dir, 'http-results')
    const run = tickstorm(['run', file, '--results', results])
    expect(await run.exit, run.stderr()).toBe(0)
    const [resultDir] = await readdir(results)
    const result = JSON.parse(await readFile(join(results, resultDir!, 'result.json'), 'utf8'))
    const http = result.transports[0]
    expect(http.transport).toBe('http')
    expect(http.deliveries).toBeGreaterThan(100)
    expect(http.errors).toBe(0)
    expect(http.latencyUs.p50).toBeGreaterThan(0)
  })

  test('a broken threshold exits 3', async () => {
    const file = await scenario(
      'strict',
      SMALL('strict', '{ p99Ms: 0.001 }').replace('[sse, longpoll, ws]', '[sse]'),
    )
    const run = tickstorm(['run', file, '--results', join(dir, 'strict-results')])
    expect(await run.exit).toBe(3)
    expect(run.stdout()).toContain('FAILED')
  })

  test('an invalid scenario exits 2 and lists every problem with its path and value', async () => {
    const file = await scenario(
      'bad',
      `name: Bad Name
description: x
transports: [sse, carrier-pigeon]
subscribers: { count: 0, colour: blue }
durationSec: 5
`,
    )
    const run = tickstorm(['run', file])
    expect(await run.exit).toBe(2)
    const stderr = run.stderr()
    expect(stderr).toContain('TS_ERR_INVALID_SCENARIO')
    expect(stderr).toContain('name')
    expect(stderr).toContain('transports[1]')
    expect(stderr).toContain('subscribers.count')
    expect(stderr).toContain('subscribers.colour')
  })

  test('a missing result directory is a coded error, exit 2', async () => {
    const run = tickstorm(['report', join(dir, 'nothing-here')])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain('TS_ERR_INVALID_RESULT')
  })
})
