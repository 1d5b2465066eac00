import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { validateRunResult } from '../../src/report/result-schema.js'
import { tickstorm } from '../helpers/cli.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-recovery-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

// Two worker threads: the heads board reaches both, and the spread merges their samples.
const SCENARIO = `name: recovery
description: half the subscribers cut once, over two worker threads
target: embedded
server: { preset: normal, seed: 3, ratePerSec: 1000 }
transports: [sse, ws]
subscribers: { count: 20, rampPerSec: 200, watchList: { size: 3, pick: zipf } }
warmupSec: 1
durationSec: 3
workers: 2
faults:
  - { atSec: 1, kind: drop, fraction: 0.5 }
`

test('tickstorm run writes the recovery split, the broadcast spread and staleness into result.json and prints them', async () => {
  const file = join(dir, 'recovery.yaml')
  await writeFile(file, SCENARIO)
  const results = join(dir, 'results')
  const run = tickstorm(['run', file, '--results', results])
  // 3: a run the shared machine's load made invalid (the harness's own lag) still writes it all.
  expect([0, 3], `${run.stderr()}\n${run.stdout()}`).toContain(await run.exit)
  const [runDir] = await readdir(results)
  const result = validateRunResult(
    JSON.parse(await readFile(join(results, runDir!, 'result.json'), 'utf8')),
  )
  expect(result.schemaVersion).toBe(6)
  for (const transport of result.transports) {
    // ceil(0.5 × 10) per worker thread: 10 of 20 cut.
    expect(transport.reconnects, transport.transport).toBe(10)
    const split = transport.recoverySplit
    expect(split, transport.transport).toBeDefined()
    if (split === undefined) continue
    expect(split.reconnectedUs.count).toBe(transport.reconnects)
    expect(split.caughtUpUs.count).toBe(transport.reconnects)
    expect(split.firstNewUs.count).toBe(transport.reconnects)
    expect(split.reconnectedUs.p50).toBeLessThanOrEqual(split.caughtUpUs.p50)
    expect(split.reconnectedUs.max).toBeLessThanOrEqual(split.caughtUpUs.max)
    expect(split.reconnectedUs.max).toBeLessThanOrEqual(split.firstNewUs.max)
    expect(transport.spread?.spreadUs.count).toBeGreaterThan(0)
    expect(transport.spread!.spreadUs.p99).toBeGreaterThanOrEqual(transport.spread!.spreadUs.p50)
    expect(transport.stalenessUs?.count).toBe(0)
    expect(Object.keys(transport.extraHistograms ?? {}).sort()).toEqual([
      'caughtUpUs',
      'firstNewUs',
      'reconnectedUs',
      'spreadUs',
      'stalenessUs',
    ])
  }
  expect(run.stdout()).toMatch(
    /recovery: reconnected p50 .+ p99 .+, caught up p50 .+, first new p50 /,
  )
  expect(run.stdout()).toMatch(/spread \(an event's first to last receipt/)
})
