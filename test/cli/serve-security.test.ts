import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import { beforeAll, describe, expect, test } from 'vitest'
import { expectBuilt, type Run, tickstorm } from '../helpers/cli.js'
import { waitFor } from '../helpers/wait.js'

beforeAll(() => {
  expectBuilt()
})

async function urlOf(run: Run): Promise<string> {
  await waitFor('the URL line', () => /http:\/\/127\.0\.0\.1:\d+/.test(run.stdout()), {
    state: () => run.stdout() + run.stderr(),
  })
  return /http:\/\/127\.0\.0\.1:\d+/.exec(run.stdout())![0]
}

describe('tickstorm serve: tokens and CORS flags', () => {
  test('--auth-public-key-file and repeated or comma-listed --cors-origin', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
    const file = join(mkdtempSync(join(tmpdir(), 'tickstorm-')), 'key.pem')
    writeFileSync(file, await exportSPKI(publicKey))
    const run = tickstorm([
      'serve',
      '--port',
      '0',
      '--auth-public-key-file',
      file,
      '--cors-origin',
      'http://a.test',
      '--cors-origin',
      'http://b.test,http://c.test',
    ])
    const url = await urlOf(run)
    expect(run.stdout()).toContain('auth: tokens required')
    expect(run.stdout()).toContain('cors: http://a.test, http://b.test, http://c.test')
    expect((await fetch(`${url}/v1/snapshot?symbols=AAPL`)).status).toBe(401)
    const token = await new SignJWT({ symbols: ['AAPL'] })
      .setProtectedHeader({ alg: 'ES256' })
      .setExpirationTime('5m')
      .sign(privateKey)
    const response = await fetch(`${url}/v1/snapshot?symbols=AAPL`, {
      headers: { authorization: `Bearer ${token}`, origin: 'http://c.test' },
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe('http://c.test')
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  test('the secret from TICKSTORM_AUTH_SECRET; a short --auth-secret exits 2 without printing it', async () => {
    const fromEnv = tickstorm(['serve', '--port', '0'], {
      TICKSTORM_AUTH_SECRET: 'an-environment-secret-of-32-bytes-at-least',
    })
    const url = await urlOf(fromEnv)
    expect(fromEnv.stdout()).not.toContain('an-environment-secret')
    expect((await fetch(`${url}/v1/stream?symbols=AAPL`)).status).toBe(401)
    fromEnv.child.kill('SIGTERM')
    expect(await fromEnv.exit).toBe(0)

    const short = tickstorm(['serve', '--port', '0', '--auth-secret', 'tiny-secret-xyz'])
    expect(await short.exit).toBe(2)
    expect(short.stderr()).toContain('--auth-secret must be at least 32 bytes')
    expect(short.stderr()).not.toContain('tiny-secret-xyz')
  })

  test('an unreadable key file or a bad origin is a usage error (exit 2)', async () => {
    const missing = tickstorm([
      'serve',
      '--port',
      '0',
      '--auth-public-key-file',
      '/no/such/key.pem',
    ])
    expect(await missing.exit).toBe(2)
    expect(missing.stderr()).toContain('cannot read "/no/such/key.pem" (ENOENT)')
    const origin = tickstorm(['serve', '--port', '0', '--cors-origin', 'http://a.test/path'])
    expect(await origin.exit).toBe(2)
    expect(origin.stderr()).toContain('--cors-origin must be exactly scheme://host[:port]')
  })
})
