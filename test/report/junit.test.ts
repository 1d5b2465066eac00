import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { renderJunit, writeJunit, xmlEscape } from '../../src/report/junit.js'
import type { RunResult, TransportResult } from '../../src/report/result-schema.js'
import { buildTransportResult } from '../../src/report/transport-result.js'
import { context, measure, runResult } from './fixtures.js'

const passing = (): TransportResult => buildTransportResult(measure('sse'), context())
const slow = (): TransportResult => buildTransportResult(measure('ws', { scale: 10 }), context())

/** Each `<testcase>`'s name and its failure message, if any. */
function cases(xml: string): { suite: string; name: string; failure: string | null }[] {
  const found = [
    ...xml.matchAll(
      /<testcase classname="([^"]*)" name="([^"]*)"(?:\/>|>\s*<failure message="([^"]*)">)/g,
    ),
  ]
  return found.map((m) => ({ suite: m[1]!, name: m[2]!, failure: m[3] ?? null }))
}

/** Parses the XML with a real parser (Python's minidom): throws when it is not well-formed. */
async function assertWellFormed(result: RunResult): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tickstorm-junit-'))
  try {
    const path = join(dir, 'junit.xml')
    await writeJunit(path, result)
    const out = execFileSync('python3', [
      '-c',
      'import xml.dom.minidom,sys; d=xml.dom.minidom.parse(sys.argv[1]); print(len(d.getElementsByTagName("testcase")))',
      path,
    ])
    expect(Number(out.toString())).toBe(cases(renderJunit(result)).length)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe('renderJunit', () => {
  test('a passing run: a suite per transport, a case per threshold, valid and delivered, no failure', async () => {
    const result = runResult([passing(), buildTransportResult(measure('ws'), context())])
    const xml = renderJunit(result)
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /)
    expect(xml).toContain('tests="8" failures="0"')
    expect(cases(xml)).toEqual(
      ['sse', 'ws'].flatMap((t) =>
        ['latency p(99) &lt;= 50ms', 'loss rate &lt;= 0', 'valid', 'delivered'].map((name) => ({
          suite: `compare-transports.${t}`,
          name,
          failure: null,
        })),
      ),
    )
    await assertWellFormed(result)
  })

  test('a failed threshold: its case, named as written, fails with the figure', async () => {
    const result = runResult([passing(), slow()], { passed: false })
    const failed = cases(renderJunit(result)).filter((c) => c.failure !== null)
    expect(failed).toEqual([
      {
        suite: 'compare-transports.ws',
        name: 'latency p(99) &lt;= 50ms',
        failure: expect.stringMatching(/^actual 9\d(\.\d+)? ms$/),
      },
    ])
    await assertWellFormed(result)
  })

  test('an old key of a result before schema 6: actual against limit, as it was', async () => {
    const old = slow()
    old.thresholds = [{ name: 'p99Ms', limit: 50, actual: 99.1, passed: false }]
    const result = runResult([old], { passed: false })
    expect(cases(renderJunit(result))[0]).toEqual({
      suite: 'compare-transports.ws',
      name: 'p99Ms ≤ 50',
      failure: 'actual 99.1 &gt; limit 50',
    })
  })

  test('a window threshold names its window; a run a threshold aborted does not complete', async () => {
    const aborted = slow()
    aborted.thresholds = [
      {
        name: 'errors{transport:ws}',
        expression: 'rate < 1%',
        limit: 0.01,
        actual: 0.25,
        unit: 'ratio',
        overSec: 5,
        worstWindowAtSec: 12,
        abortOnFail: true,
        passed: false,
      },
    ]
    const result = runResult([aborted], {
      schemaVersion: 6,
      passed: false,
      abortedBy: { transport: 'ws', threshold: 'errors{transport:ws} rate < 1%', atSec: 17 },
    })
    expect(cases(renderJunit(result))).toEqual([
      {
        suite: 'compare-transports.ws',
        name: 'errors{transport:ws} rate &lt; 1% over 5 s',
        failure: 'actual 25 % (worst 5 s window, from 12 s)',
      },
      { suite: 'compare-transports.ws', name: 'valid', failure: null },
      { suite: 'compare-transports.ws', name: 'delivered', failure: null },
      {
        suite: 'run',
        name: 'completed',
        failure: 'ws errors{transport:ws} rate &lt; 1% aborted the run after 17 s of measurement',
      },
    ])
    await assertWellFormed(result)
  })

  test('an invalid run: the valid case fails with the reasons', async () => {
    const invalid = buildTransportResult(
      measure('sse'),
      context({
        validity: {
          valid: false,
          invalidReasons: ['harness CPU 99% > 90%', 'event loop p99 <250 ms> & late'],
        },
      }),
    )
    const result = runResult([invalid], { passed: false })
    const valid = cases(renderJunit(result)).find((c) => c.name === 'valid')!
    expect(valid.failure).toBe(xmlEscape(invalid.validity.invalidReasons.join('; ')))
    expect(valid.failure).not.toBe('')
    await assertWellFormed(result)
  })

  test('a crashed transport that delivered nothing, in an interrupted run', async () => {
    const crashed: TransportResult = {
      ...passing(),
      deliveries: 0,
      failure: { message: 'exit <1> & "quoted" \'x\'\nsecond line \u0001', code: 'TS_ERR_X' },
    }
    const result = runResult([crashed], {
      passed: false,
      interrupted: true,
      interruption: { signal: 'SIGTERM', transport: 'sse', phase: 'ramp', notMeasured: ['ws'] },
    })
    const xml = renderJunit(result)
    const byName = (name: string) => cases(xml).find((c) => c.name === name)
    expect(byName('failure')!.failure).toBe(
      'exit &lt;1&gt; &amp; &quot;quoted&quot; &apos;x&apos;&#10;second line ',
    )
    expect(byName('delivered')!.failure).toBe('no event was delivered')
    expect(byName('completed')).toEqual({
      suite: 'run',
      name: 'completed',
      failure: 'SIGTERM during sse (ramp); not measured: ws',
    })
    await assertWellFormed(result)
  })
})

test('xmlEscape escapes the five specials and drops what XML cannot carry', () => {
  expect(xmlEscape(`<a & 'b' "c">\u0000\u001b\tok`)).toBe(
    '&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;\tok',
  )
})
