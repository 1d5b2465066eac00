/**
 * The README's "Benchmark your own server" examples, run as a user runs them: the nchan commands
 * and scenario exactly as the README and scenarios/nchan.yaml write them (only the temp dir and
 * the port are this test's own, so runs in parallel cannot collide), and the generic scenario
 * against a `tickstorm serve`. Each must give a valid, readable result with a report.
 */

import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { validateRunResult } from '../../src/report/result-schema.js'
import { tickstorm } from '../helpers/cli.js'
import { freePort } from '../helpers/free-port.js'
import { waitForAsync } from '../helpers/wait-async.js'

const ROOT = new URL('../../', import.meta.url)
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tickstorm-peers-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The README's fenced block that follows `marker`, as text. */
async function readmeBlock(marker: string): Promise<string> {
  const readme = await readFile(new URL('README.md', ROOT), 'utf8')
  const at = readme.indexOf(marker)
  expect(at, `README has "${marker}"`).toBeGreaterThan(0)
  const open = readme.indexOf('```', at)
  const start = readme.indexOf('\n', open) + 1
  return readme.slice(start, readme.indexOf('```', start))
}

/** The one result a run wrote, validated. */
async function resultOf(results: string) {
  const [runDir] = await readdir(results)
  expect(runDir).toBeDefined()
  const path = join(results, runDir!)
  const result = validateRunResult(
    JSON.parse(await readFile(join(path, 'result.json'), 'utf8')),
    path,
  )
  expect(existsSync(join(path, 'report.html'))).toBe(true)
  return result
}

describe('benchmark your own server, as the README writes it', () => {
  test('nchan: the README commands and scenarios/nchan.yaml give a valid run with a report', async () => {
    const work = join(dir, 'nchan')
    const port = await freePort()
    const own = (text: string) =>
      text.replaceAll('/tmp/tickstorm-nchan', work).replaceAll('18080', String(port))
    // The README's shell block, with its dir and port made this test's: mkdir, chmod, sed.
    const commands = (await readmeBlock('**nchan**, as written'))
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('npm run build'))
    expect(commands).toHaveLength(2)
    for (const command of commands) {
      execFileSync('/bin/sh', ['-c', own(command)], { cwd: new URL('.', ROOT).pathname })
    }
    await chmod(work, 0o755)
    // The scenario file, and the README's excerpt of it, say the same.
    const scenarioText = await readFile(new URL('scenarios/nchan.yaml', ROOT), 'utf8')
    for (const line of (await readmeBlock('`scenarios/nchan.yaml` holds:')).split('\n')) {
      if (line.startsWith('server:')) continue // the README writes the block on one line
      expect(scenarioText, line).toContain(line.trim())
    }
    const scenario = join(dir, 'nchan.yaml')
    await writeFile(scenario, own(scenarioText))
    const results = join(dir, 'nchan-results')
    const run = tickstorm(['run', scenario, '--results', results])
    const code = await run.exit
    // Passed, or a threshold missed on a machine busy with other tests: a valid, written run.
    expect([0, 3], `${run.stderr()}\n${run.stdout()}`).toContain(code)
    const result = await resultOf(results)
    expect(result.targetKind).toBe('nchan')
    expect(result.source).toBe('harness')
    expect(result.transports.map((t) => t.transport)).toEqual(['sse', 'longpoll', 'ws'])
    for (const transport of result.transports) {
      expect(transport.failure, transport.transport).toBeUndefined()
      expect(transport.deliveries, transport.transport).toBeGreaterThan(0)
      expect(transport.lossCountedAgainst).toBe('sent')
      expect(transport.reconnects, transport.transport).toBeGreaterThan(0)
      expect(transport.server?.cpuPercentAvg, transport.transport).toBeGreaterThan(0)
      expect(transport.publisher?.published, transport.transport).toBeGreaterThan(0)
    }
    expect(run.stdout()).toContain('target: nchan')
  }, 180_000)

  test('a harness-fed target is refused with --segment: every host would publish the market', async () => {
    const run = tickstorm([
      'run',
      new URL('scenarios/nchan.yaml', ROOT).pathname,
      '--segment',
      '1/2',
    ])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain(
      '--segment 1/2: scenario nchan has source: harness, so every harness host would publish the whole market into the target',
    )
  })

  test('generic: scenarios/generic-tickstorm.yaml against tickstorm serve', async () => {
    const port = await freePort()
    const serve = tickstorm(['serve', '--port', String(port)])
    await waitForAsync('tickstorm serve to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null)
      return response?.ok === true
    })
    const scenarioText = await readFile(new URL('scenarios/generic-tickstorm.yaml', ROOT), 'utf8')
    const scenario = join(dir, 'generic.yaml')
    await writeFile(scenario, scenarioText.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`))
    const results = join(dir, 'generic-results')
    const run = tickstorm(['run', scenario, '--results', results])
    const code = await run.exit
    serve.child.kill('SIGTERM')
    expect([0, 3], `${run.stderr()}\n${run.stdout()}`).toContain(code)
    const result = await resultOf(results)
    expect(result.targetKind).toBe('generic')
    expect(result.source).toBe('server')
    for (const transport of result.transports) {
      expect(transport.deliveries, transport.transport).toBeGreaterThan(0)
      expect(transport.errors, transport.transport).toBe(0)
      expect(transport.reconnects, transport.transport).toBeGreaterThan(0)
      expect(transport.lost, transport.transport).toBe(0)
      expect(transport.lossCountedAgainst).toBe('gaps')
    }
  }, 120_000)
})
