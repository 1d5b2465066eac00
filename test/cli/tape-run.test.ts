import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'
import { join as joinBytes, mbp1, metadata, SCHEMA } from '../market/tapes/dbn-writer.js'
import { dollars, MIDNIGHT_NS, OPEN_NS, tapeDir, writeTape } from '../market/tapes/tape-files.js'

/** Two symbols the model does not have, a quote each every 10 ms for 20 s. */
function tape(): Uint8Array {
  const records = [
    metadata({
      version: 2,
      schema: SCHEMA.mbp1,
      symbols: ['ZZTOP', 'QQXX'],
      mappings: [
        ['ZZTOP', [[20240328, 20240329, 1]]],
        ['QQXX', [[20240328, 20240329, 2]]],
      ],
    }),
  ]
  for (let i = 0; i < 4000; i++) {
    const ts = MIDNIGHT_NS + BigInt(OPEN_NS + i * 5_000_000)
    const bid = dollars(10 + (i % 50) / 100)
    records.push(
      mbp1({
        id: (i % 2) + 1,
        tsRecv: ts,
        action: 'A',
        side: 'B',
        price: bid,
        size: 100,
        bid,
        bidSize: 100 + i,
        ask: bid + dollars(0.01),
        askSize: 100,
      }),
    )
  }
  return joinBytes(records)
}

describe('tickstorm run with server: { tape }', () => {
  test('the embedded server replays the tape: subscribers of its symbols get every tick, no loss', async () => {
    const dir = tapeDir()
    const path = writeTape(dir, 'zz.dbn', tape())
    const file = join(dir, 'replay.yaml')
    await writeFile(
      file,
      `name: replay
description: a tape through the real CLI
target: embedded
server: { tape: ${JSON.stringify(path)}, tapeStart: "09:30:00", speed: 1 }
transports: [sse]
subscribers: { count: 10, rampPerSec: 100, watchList: { size: 2, pick: fixed, symbols: [ZZTOP, QQXX] } }
warmupSec: 1
durationSec: 3
workers: 1
thresholds:
  loss: ["rate == 0"]
  errors: ["rate == 0"]
`,
    )
    const results = join(dir, 'results')
    const run = tickstorm(['run', file, '--results', results])
    expect(await run.exit, `${run.stderr()}\n${run.stdout()}`).toBe(0)
    expect(run.stdout() + run.stderr()).not.toMatch(/unknown symbol/i)
  }, 60_000)
})
