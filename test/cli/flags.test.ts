import { readFile } from 'node:fs/promises'
import { describe, expect, test } from 'vitest'
import { tickstorm } from '../helpers/cli.js'

const PACKAGE = JSON.parse(
  await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string }

describe('the command line speaks the flags the user typed', () => {
  test('a flag that is not a number is quoted as typed, not as NaN', async () => {
    const run = tickstorm(['serve', '--port', 'abc'])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toBe(
      'tickstorm: invalid server options:\n  - --port must be an integer from 0 to 65535, got "abc" [TS_ERR_INVALID_OPTIONS]\n',
    )
  })

  test('every problem names its flag (--frame-ms, not frameMs), all of them at once', async () => {
    const run = tickstorm([
      'serve',
      '--frame-ms',
      '0',
      '--max-connections',
      '1.5',
      '--preset',
      'calm',
      '--workers',
      '99',
    ])
    expect(await run.exit).toBe(2)
    const stderr = run.stderr()
    expect(stderr).toContain('  - --frame-ms must be a number from 1 to 1000, got "0"')
    expect(stderr).toContain(
      '  - --max-connections must be an integer from 0 to 10000000, got "1.5"',
    )
    expect(stderr).toMatch(/ {2}- --preset must be one of quiet, .*, got "calm"/)
    expect(stderr).toContain('  - --workers must be an integer from 1 to 64, got "99"')
    expect(stderr).not.toMatch(/frameMs|maxConnections|NaN/)
  })

  test('the secret is never echoed back: a short one is described, by the flag it came from', async () => {
    const secret = 'too-short-secret'
    const flag = tickstorm(['serve', '--auth-secret', secret])
    expect(await flag.exit).toBe(2)
    expect(flag.stderr()).toContain('--auth-secret must be at least 32 bytes')
    expect(flag.stderr()).not.toContain(secret)
    const env = tickstorm(['serve'], { TICKSTORM_AUTH_SECRET: secret })
    expect(await env.exit).toBe(2)
    expect(env.stderr()).toContain('TICKSTORM_AUTH_SECRET must be at least 32 bytes')
    expect(env.stderr()).not.toContain(secret)
  })

  test('feed names its flags too', async () => {
    const run = tickstorm(['feed', '--redis', 'redis://127.0.0.1:1', '--speed', 'fast'])
    expect(await run.exit).toBe(2)
    expect(run.stderr()).toContain('  - --speed must be a number from 0.001 to 10000, got "fast"')
  })

  test('--version and -V print the package version (and the commit, in a checkout)', async () => {
    for (const flag of ['--version', '-V']) {
      const run = tickstorm([flag])
      expect(await run.exit).toBe(0)
      expect(run.stdout()).toMatch(
        new RegExp(
          `^tickstorm ${PACKAGE.version.replaceAll('.', '\\.')} \\(commit [0-9a-f]{7,}, Node v\\d+\\.\\d+\\.\\d+\\)\\n$`,
        ),
      )
    }
  })
})
