import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { embeddedTapeOf, startEmbeddedServer } from '../../src/harness/embedded-target.js'
import { scenarioSchema } from '../../src/harness/scenario-schema.js'
import { openTape } from '../../src/market/tapes/open-tape.js'
import { dbnTape, expected, FROM_START, ticks, withoutTs } from '../market/tapes/replay-tapes.js'
import { readAll, tapeDir, writeTape } from '../market/tapes/tape-files.js'

const BIN = fileURLToPath(new URL('../../bin/tickstorm.js', import.meta.url))

describe("a scenario's server: { tape } on the embedded target", () => {
  test('the schema takes the tape keys and refuses bad ones', () => {
    const base = {
      name: 'x',
      description: 'a replay',
      target: 'embedded',
      transports: ['sse'],
      subscribers: { count: 1 },
    }
    const ok = scenarioSchema.safeParse({
      ...base,
      server: {
        tape: 't.dbn',
        tapeFormat: 'dbn',
        tapeStart: '09:30:00.5',
        tapeSymbols: ['AAPL'],
        speed: 4,
      },
    })
    expect(ok.error?.issues ?? []).toEqual([])
    for (const server of [
      { tape: 't.dbn', tapeFormat: 'csv' },
      { tape: 't.dbn', tapeStart: '9h30' },
      { tape: 't.dbn', tapeSymbols: ['A,B'] },
      { tape: '' },
    ]) {
      expect(scenarioSchema.safeParse({ ...base, server }).success, JSON.stringify(server)).toBe(
        false,
      )
    }
    expect(embeddedTapeOf({ preset: 'normal' } as never)).toBeUndefined()
  })

  test('the embedded server replays the tape: the ticks, ids and q of the tape', async () => {
    const path = writeTape(tapeDir(), 'open.dbn', dbnTape())
    const want = expected((await readAll(await openTape(path))).events, ['AAPL', 'MSFT'])
    const server = await startEmbeddedServer({
      bin: BIN,
      preset: 'normal',
      seed: 1,
      frameMs: 5,
      speed: 8,
      tape: embeddedTapeOf({ tape: path, tapeFormat: 'dbn', tapeStart: '09:30:00' }),
    })
    try {
      const live = await ticks(`${server.url}/v1/stream?symbols=AAPL,MSFT`, want.length, FROM_START)
      expect(withoutTs(live)).toEqual(want)
      expect(live.map((event) => event.id)).toEqual(want.map((_, i) => i + 1))
    } finally {
      await server.stop()
    }
  })
})
