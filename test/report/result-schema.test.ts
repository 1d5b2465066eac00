import { describe, expect, test } from 'vitest'
import { TickstormError } from '../../src/errors.js'
import { INVALID_RESULT, validateRunResult } from '../../src/report/result-schema.js'
import { buildTransportResult } from '../../src/report/transport-result.js'
import { ARRIVALS, context, measure, runResult } from './fixtures.js'

describe('validateRunResult', () => {
  const valid = runResult([buildTransportResult(measure('sse'), context())])

  test('refuses a newer schema version with a coded error', () => {
    const error = catchError(() =>
      validateRunResult({ ...valid, schemaVersion: 7 }, 'x/result.json'),
    )
    expect(error.code).toBe(INVALID_RESULT)
    expect(error.code).toBe('TS_ERR_INVALID_RESULT')
    expect(error.message).toBe(
      'x/result.json has schemaVersion 7, newer than this tickstorm reads (1, 2, 3, 4, 5 and 6)',
    )
  })

  test('watch-list changes are optional version 6 fields, checked strictly', () => {
    const [transport] = valid.transports
    const percentiles = transport!.latencyUs
    const changing = {
      ...valid,
      schemaVersion: 6,
      transports: [
        {
          ...transport,
          watchListChanges: { changes: 12, acknowledgedUs: percentiles },
          extraHistograms: { changeAcknowledgedUs: transport!.histograms!.latencyUs },
          arrivals: ARRIVALS,
        },
      ],
    }
    const read = validateRunResult(changing)
    expect(read.transports[0]!.watchListChanges?.changes).toBe(12)
    expect(read.transports[0]!.arrivals?.watchListChanges).toEqual({ everySec: 10, swap: 2 })
    const wrong = structuredClone(changing)
    ;(wrong.transports[0]!.watchListChanges as Record<string, unknown>)['made'] = 1
    expect(catchError(() => validateRunResult(wrong)).code).toBe(INVALID_RESULT)
  })

  test('reads version 1 (no interruption fields) and version 2 (an interrupted run)', () => {
    expect(validateRunResult({ ...valid, schemaVersion: 1 }).schemaVersion).toBe(1)
    const interrupted = {
      ...valid,
      schemaVersion: 2,
      interrupted: true,
      interruption: { signal: 'SIGINT', transport: 'sse', phase: 'measuring', notMeasured: [] },
      passed: false,
    }
    expect(validateRunResult(interrupted).interruption?.phase).toBe('measuring')
  })

  test('an interrupted run never passes, says where it stopped, and needs version 2', () => {
    const interruption = {
      signal: 'SIGTERM',
      transport: null,
      phase: 'starting',
      notMeasured: ['sse'],
    }
    const problems = (value: object) =>
      String(catchError(() => validateRunResult(value)).details?.['problems'])
    expect(
      problems({ ...valid, schemaVersion: 2, interrupted: true, interruption, passed: true }),
    ).toContain('`passed` must be false for an interrupted run')
    expect(problems({ ...valid, schemaVersion: 2, interrupted: true, passed: false })).toContain(
      '`interruption` must be given exactly when interrupted is true',
    )
    expect(
      problems({ ...valid, schemaVersion: 1, interrupted: true, interruption, passed: false }),
    ).toContain('`schemaVersion` must be 2 for a result that says whether it was interrupted')
  })

  test('a failed transport (schema version 4) reads back and never passes', () => {
    const failed = {
      ...buildTransportResult(measure('ws'), context()),
      failure: { message: 'the target closed every WebSocket', code: 'ECONNRESET' },
    }
    const run = { ...valid, schemaVersion: 4, transports: [...valid.transports, failed] }
    expect(validateRunResult({ ...run, passed: false }).transports[1]?.failure).toEqual(
      failed.failure,
    )
    const problems = (value: object) =>
      String(catchError(() => validateRunResult(value)).details?.['problems'])
    expect(problems({ ...run, passed: true })).toContain(
      '`passed` must be false for a run with a failed transport',
    )
    expect(problems({ ...run, schemaVersion: 3, passed: false })).toContain(
      '`schemaVersion` must be 4 for a result with a failed transport',
    )
  })

  test('refuses a foreign file', () => {
    const error = catchError(() => validateRunResult({ requests: { average: 1 } }, 'k6.json'))
    expect(error.code).toBe('TS_ERR_INVALID_RESULT')
    expect(error.message).toBe('k6.json has no schemaVersion: not a tickstorm result')
  })

  test('lists every bad field with its path', () => {
    const broken = structuredClone(valid) as unknown as Record<string, unknown>
    const transports = broken['transports'] as Record<string, unknown>[]
    transports[0]!['lossRatio'] = 2
    transports[0]!['extra'] = true
    broken['commit'] = 42
    const error = catchError(() => validateRunResult(broken))
    expect(error.details?.['problems']).toEqual([
      '`commit` must be a string, got 42',
      '`transports[0].lossRatio` must be ≤ 1, got 2',
      '`transports[0].extra` is not a known key, got true',
    ])
  })
})

function catchError(run: () => unknown): TickstormError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TickstormError)
    return error as TickstormError
  }
  throw new Error('expected an error')
}
