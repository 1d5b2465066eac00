import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { latencyIntervalsOf } from '../../src/report/measurements.js'
import { buildTransportResult } from '../../src/report/transport-result.js'
import { writeResultDir } from '../../src/report/write-result.js'
import { tickstorm } from '../helpers/cli.js'
import { context, measure, runResult } from '../report/fixtures.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-outputs-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Parses the file with a real XML parser; returns its number of test cases. */
function parseXml(path: string): number {
  const out = execFileSync('python3', [
    '-c',
    'import xml.dom.minidom,sys; d=xml.dom.minidom.parse(sys.argv[1]); print(len(d.getElementsByTagName("testcase")))',
    path,
  ])
  return Number(out.toString())
}

/** A result directory from fixtures: sse passing, ws at p99 ≈ 99 ms when `failing`. */
async function resultDir(failing: boolean): Promise<string> {
  const sse = measure('sse')
  const ws = measure('ws', { scale: failing ? 10 : 1 })
  const result = runResult(
    [sse, ws].map((m) => buildTransportResult(m, context())),
    { passed: !failing },
  )
  const path = join(dir, 'result')
  await writeResultDir(path, result, { sse: latencyIntervalsOf(sse), ws: latencyIntervalsOf(ws) })
  return path
}

describe('tickstorm report --summary-json --junit', () => {
  test('a passing result: exit 0, both files written', async () => {
    const path = await resultDir(false)
    const [json, xml] = [join(dir, 'a.json'), join(dir, 'b.xml')]
    const report = tickstorm(['report', path, '--summary-json', json, '--junit', xml])
    expect(await report.exit, report.stderr()).toBe(0)
    const summary = JSON.parse(await readFile(json, 'utf8'))
    expect(summary).toMatchObject({ summaryVersion: 1, passed: true, verdict: 'PASSED' })
    expect(summary.transports.map((t: { transport: string }) => t.transport)).toEqual(['sse', 'ws'])
    expect(parseXml(xml)).toBe(8)
    expect(await readFile(xml, 'utf8')).toContain('failures="0"')
  })

  test('a failing result: exit 3 as report exits, and both files say why', async () => {
    const path = await resultDir(true)
    const [json, xml] = [join(dir, 'a.json'), join(dir, 'b.xml')]
    await writeFile(json, 'stale')
    const report = tickstorm(['report', path, '--summary-json', json, '--junit', xml])
    expect(await report.exit, report.stderr()).toBe(3)
    const summary = JSON.parse(await readFile(json, 'utf8'))
    expect(summary).toMatchObject({ passed: false, verdict: 'FAILED' })
    expect(summary.reasons).toEqual([
      expect.stringMatching(/^ws latency p\(99\) <= 50ms: 9\d(\.\d+)? ms$/),
    ])
    const text = await readFile(xml, 'utf8')
    expect(text).toContain(
      '<testsuites name="tickstorm compare-transports" tests="8" failures="1">',
    )
    expect(text).toMatch(
      /name="latency p\(99\) &lt;= 50ms">\s*<failure message="actual 9[\d.]+ ms"/,
    )
    expect(parseXml(xml)).toBe(8)
    // No temporary file left beside them.
    expect((await readdir(dir)).sort()).toEqual(['a.json', 'b.xml', 'result'])
  })

  test('the help texts list the flags', async () => {
    for (const command of ['run', 'report']) {
      const help = tickstorm([command, '--help'])
      expect(await help.exit).toBe(0)
      expect(help.stdout()).toContain('--summary-json <file>')
      expect(help.stdout()).toContain('--junit <file>')
    }
  })
})

test('a short real run writes both files', async () => {
  const file = join(dir, 'small.yaml')
  await writeFile(
    file,
    `name: outputs
description: a short run through the real CLI with CI outputs
target: embedded
server: { preset: normal, seed: 3 }
transports: [sse]
subscribers: { count: 10, rampPerSec: 200, watchList: { size: 8, pick: zipf } }
warmupSec: 1
durationSec: 2
workers: 1
thresholds: { p99Ms: 5000, maxLossRatio: 0 }
`,
  )
  const [json, xml] = [join(dir, 'run.json'), join(dir, 'run.xml')]
  const run = tickstorm([
    'run',
    file,
    '--results',
    join(dir, 'results'),
    '--summary-json',
    json,
    '--junit',
    xml,
  ])
  expect(await run.exit, `${run.stderr()}\n${run.stdout()}`).toBe(0)
  const summary = JSON.parse(await readFile(json, 'utf8'))
  expect(summary).toMatchObject({ summaryVersion: 1, scenario: 'outputs', passed: true })
  expect(summary.transports[0].transport).toBe('sse')
  expect(summary.transports[0].deliveries).toBeGreaterThan(0)
  expect(parseXml(xml)).toBe(4)
}, 60_000)
