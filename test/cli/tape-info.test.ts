import { describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'
import { itch, itchFile } from '../market/tapes/itch-writer.js'
import { dbnHaltTape } from '../market/tapes/replay-tapes.js'
import { cutCopy, gzipCopy, OPEN_NS, tapeDir, writeTape } from '../market/tapes/tape-files.js'

/** AAPL: 20 adds 50 µs apart from 09:30; MSFT: a trade a second later, and a halt. */
function tape(): Uint8Array {
  const messages = [
    itch.stockDirectory(1, OPEN_NS, 'AAPL'),
    itch.stockDirectory(2, OPEN_NS, 'MSFT'),
  ]
  for (let i = 0; i < 20; i++) {
    messages.push(itch.addOrder(1, OPEN_NS + i * 50_000, i + 1, 'B', 100, 'AAPL', 1_000_000 + i))
  }
  messages.push(itch.trade(2, OPEN_NS + 1_000_000_000, 'B', 100, 'MSFT', 4_000_000, 1))
  messages.push(itch.tradingAction(2, OPEN_NS + 2_500_000_000, 'MSFT', 'H', 'T1'))
  return itchFile(messages)
}

describe('tickstorm tape info', () => {
  test('prints what a replay will ask: counts, span, peaks, symbols', async () => {
    const path = gzipCopy(writeTape(tapeDir(), '12072026.NASDAQ_ITCH50', tape()))
    const run = tickstorm(['tape', 'info', path])
    expect(await run.exit).toBe(0)
    expect(run.stdout()).toBe(
      [
        `tape       ${path}`,
        `format     itch, 2026-12-07, ${run.stdout().match(/, ([\d,]+) bytes read/)![1]} bytes read`,
        'records    24',
        'events     22: 20 quotes, 1 trades, 1 status',
        'time span  09:30:00.000000 – 09:30:02.500000 (2.500 s), mean 9 events/s',
        'peak 1 s   20 events from 09:30:00.000000',
        'peak 1 ms  20 events = 20,000 events/s from 09:30:00.000000',
        'symbols    2',
        '  AAPL                 20 events  (20 quotes, 0 trades, 0 status)',
        '  MSFT                  2 events  (0 quotes, 1 trades, 1 status)',
        'truncated  no',
        '',
      ].join('\n'),
    )
  })

  test('a DBN tape with status and imbalance records: halts count as status, imbalance records as skipped', async () => {
    const path = writeTape(tapeDir(), 'halts.dbn', dbnHaltTape())
    const run = tickstorm(['tape', 'info', path])
    expect(await run.exit).toBe(0)
    const lines = run.stdout().split('\n')
    expect(lines.slice(2, 5)).toEqual([
      'records    9',
      'skipped    2 imbalance records (not played)',
      'events     6: 3 quotes, 1 trades, 2 status',
    ])
    expect(lines).toContain('  AAPL                  4 events  (1 quotes, 1 trades, 2 status)')
    const json = tickstorm(['tape', 'info', path, '--json'])
    expect(await json.exit).toBe(0)
    expect(JSON.parse(json.stdout())).toMatchObject({
      records: 9,
      skipped: { imbalance: 2 },
      events: { statuses: 2 },
    })
  })

  test('--json, --format and --top; a truncated tape exits 0 and says where it was cut', async () => {
    const dir = tapeDir()
    const whole = tape()
    const path = writeTape(dir, 'day.itch', whole)
    const cut = cutCopy(path, whole.length - 3, `${dir}/cut.bin`)
    const run = tickstorm(['tape', 'info', cut, '--format', 'itch', '--json', '--top', '1'])
    expect(await run.exit).toBe(0)
    const info = JSON.parse(run.stdout())
    expect(info).toMatchObject({
      path: cut,
      format: 'itch',
      records: 23,
      // The halt was cut: the two statuses are the truncation's, one per symbol.
      events: { total: 23, quotes: 20, trades: 1, statuses: 2 },
      symbolCount: 2,
      topSymbols: [{ symbol: 'AAPL', events: 21 }],
      peak1ms: { events: 20, perSec: 20_000, atNs: OPEN_NS },
      truncated: `byte ${whole.length - 27}: a 25-byte message ends after 22 bytes`,
    })
  })

  test('a bad tape exits 1 naming the file, the byte and what was expected', async () => {
    const bytes = tape()
    bytes[2 + 39 + 2] = 0x5a // the first add order's type byte becomes 'Z'
    const path = writeTape(tapeDir(), 'bad.itch', bytes)
    const run = tickstorm(['tape', 'info', path])
    expect(await run.exit).toBe(1)
    expect(run.stderr()).toBe(
      `tickstorm: ${path}: byte 43: expected an ITCH 5.0 message type (S R H Y L V W K J h A F E C X D U P Q B I N O), got 0x5a [TS_ERR_INVALID_TAPE]\n`,
    )
    const missing = tickstorm(['tape', 'info', `${path}.nope`])
    expect(await missing.exit).toBe(1)
    expect(missing.stderr()).toBe(
      `tickstorm: cannot read tape ${path}.nope: no such file [TS_ERR_INVALID_TAPE]\n`,
    )
  })

  test('--help exits 0; usage errors exit 2', async () => {
    const help = tickstorm(['tape', '--help'])
    expect(await help.exit).toBe(0)
    expect(help.stdout()).toMatch(/^Usage: tickstorm tape info <file>/)
    const cases: [string[], string][] = [
      [['tape'], 'give a subcommand: info or write'],
      [['tape', 'play', 'x'], 'unknown subcommand "play"'],
      [['tape', 'info'], 'give one tape file'],
      [
        ['tape', 'info', 'x', '--format', 'csv'],
        '--format must be one of lobster, dbn, itch, got "csv"',
      ],
      [['tape', 'info', 'x', '--top', 'many'], '--top must be an integer ≥ 0, got "many"'],
    ]
    for (const [args, problem] of cases) {
      const run = tickstorm(args)
      expect(await run.exit, args.join(' ')).toBe(2)
      expect(run.stderr()).toMatch(
        new RegExp(`^tickstorm tape: ${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`),
      )
    }
    const unknown = tickstorm(['tape', 'info', 'x', '--bogus'])
    expect(await unknown.exit).toBe(2)
  }, 90_000)
})
