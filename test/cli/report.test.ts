import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'

/** A committed result; `report` re-renders report.html, so it only ever runs on a copy. */
const COMMITTED = fileURLToPath(
  new URL('../../results/20261124T070859Z-compare-transports', import.meta.url),
)

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-report-'))
  await cp(COMMITTED, dir, { recursive: true })
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The parts of result.json these tests change. */
interface Editable {
  schemaVersion: number
  passed: boolean
  transports: { thresholds: { actual: number; passed: boolean }[]; validity: unknown }[]
  interrupted?: boolean
  interruption?: unknown
}

/** Rewrites the copy's result.json. */
async function edit(change: (result: Editable) => void): Promise<void> {
  const path = join(dir, 'result.json')
  const result = JSON.parse(await readFile(path, 'utf8'))
  change(result)
  await writeFile(path, JSON.stringify(result))
}

describe('tickstorm report exits as run would', () => {
  test('a passing result: exit 0, PASSED, report.html rendered again (in the copy)', async () => {
    const before = (await stat(join(dir, 'report.html'))).mtimeMs
    const run = tickstorm(['report', dir])
    expect(await run.exit, run.stderr()).toBe(0)
    expect(run.stdout()).toContain('\n\nPASSED\n')
    expect((await stat(join(dir, 'report.html'))).mtimeMs).toBeGreaterThan(before)
  })

  test('a failed threshold: exit 3, and the verdict names the transport and the threshold', async () => {
    await edit((result) => {
      const p99 = result.transports[0]!.thresholds[0]!
      Object.assign(p99, { actual: 412, passed: false })
      result.passed = false
    })
    const run = tickstorm(['report', dir])
    expect(await run.exit, run.stderr()).toBe(3)
    expect(run.stdout()).toContain('\n\nFAILED: sse p99 412.0 ms > 100 ms\n')
  })

  test('an invalid run: exit 3, the verdict says which transport was invalid', async () => {
    await edit((result) => {
      result.transports[2]!.validity = { valid: false, invalidReasons: ['the harness was busy'] }
      result.passed = false
    })
    const run = tickstorm(['report', dir])
    expect(await run.exit, run.stderr()).toBe(3)
    expect(run.stdout()).toContain(
      '\n\nFAILED: ws invalid (the harness, not the server, was measured)\n',
    )
  })

  test('an interrupted run: exit 3, INTERRUPTED', async () => {
    await edit((result) => {
      result.schemaVersion = 2
      result.interrupted = true
      result.interruption = {
        signal: 'SIGINT',
        transport: 'longpoll',
        phase: 'measuring',
        notMeasured: ['ws'],
      }
      result.transports.pop()
      result.passed = false
    })
    const run = tickstorm(['report', dir])
    expect(await run.exit, run.stderr()).toBe(3)
    expect(run.stdout()).toContain(
      '\n\nINTERRUPTED: SIGINT during the longpoll measurement; not measured: ws\n',
    )
  })
})
