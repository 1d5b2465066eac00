import { beforeAll, describe, expect, test } from 'vitest'
import { expectBuilt, tickstorm } from '../helpers/cli.js'
import { openSse } from '../helpers/sse-client.js'
import { waitFor } from '../helpers/wait.js'

beforeAll(() => {
  expectBuilt()
})

describe('tickstorm serve', () => {
  test('prints its URL, streams ticks, and on SIGTERM drains streams with retry: and exits 0', async () => {
    const run = tickstorm([
      'serve',
      '--port',
      '0',
      '--preset',
      'normal',
      '--rate',
      '3000',
      '--seed',
      '7',
    ])
    await waitFor('the URL line', () => /http:\/\/127\.0\.0\.1:\d+/.test(run.stdout()), {
      state: () => run.stdout() + run.stderr(),
    })
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(run.stdout())![0]
    expect(run.stdout()).toContain(`curl -N '${url}/v1/stream?symbols=AAPL'`)
    // Where a proxy's default HTTP/1.0 upstream would otherwise be a silent 502.
    expect(run.stdout()).toContain('note: HTTP/1.1 only')
    expect(run.stdout()).toContain('proxy_http_version 1.1;')
    const stream = await openSse(`${url}/v1/stream?symbols=AAPL,MSFT`)
    await waitFor('ticks', () => stream.events.length >= 5)
    run.child.kill('SIGTERM')
    await stream.ended
    expect(await run.exit).toBe(0)
    expect(stream.retries.length).toBe(2)
    expect(run.stdout()).toContain('draining 1 stream(s)')
  })

  test('refuses to start, naming the cause, when uWebSockets.js falls back to pure JS', async () => {
    const run = tickstorm(['serve', '--port', '0'], { UWS_USE_FALLBACK: '1' })
    expect(await run.exit).toBe(1)
    expect(run.stderr()).toContain('TS_ERR_UWS_NOT_NATIVE')
    expect(run.stderr()).toContain('not running natively')
    expect(run.stdout()).not.toContain('http://')
  })

  test('bad options: exit 2 and every problem listed with its value', async () => {
    const run = tickstorm(['serve', '--port', 'eighty', '--preset', 'sideways', '--speed', '0'])
    expect(await run.exit).toBe(2)
    const stderr = run.stderr()
    expect(stderr).toContain('TS_ERR_INVALID_OPTIONS')
    expect(stderr).toContain('--port must be an integer from 0 to 65535, got "eighty"')
    expect(stderr).toContain('--preset must be one of')
    expect(stderr).toContain('"sideways"')
    expect(stderr).toContain('--speed must be a number')
  })

  test('an unknown flag or command exits 2 with a hint; --help exits 0', async () => {
    const flag = tickstorm(['serve', '--colour', 'red'])
    expect(await flag.exit).toBe(2)
    expect(flag.stderr()).toContain('--colour')
    const command = tickstorm(['serf'])
    expect(await command.exit).toBe(2)
    expect(command.stderr()).toContain('unknown command "serf"')
    const help = tickstorm(['serve', '--help'])
    expect(await help.exit).toBe(0)
    expect(help.stdout()).toContain('--frame-ms')
  })

  test('a port in use is a clear error', async () => {
    const first = tickstorm(['serve', '--port', '0'])
    await waitFor('the first server', () => /:\d+/.test(first.stdout()))
    const port = /127\.0\.0\.1:(\d+)/.exec(first.stdout())![1]!
    const second = tickstorm(['serve', '--port', port])
    expect(await second.exit).toBe(1)
    expect(second.stderr()).toContain('TS_ERR_LISTEN_FAILED')
  })
})
