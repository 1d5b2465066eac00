import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BrowserContext, chromium, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const BUILT_PAGE = fileURLToPath(new URL('../../dist/web/index.html', import.meta.url))

/**
 * Debian's Chromium, headless, with everything that phones home turned off: this machine has no
 * network, and without these flags Chromium keeps trying to reach it (QUIC, component updates,
 * sync, first-run pings, background fetches).
 */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface Browser {
  readonly context: BrowserContext
  /** A new tab; its uncaught errors are collected in `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>
  close(): Promise<void>
}

/**
 * One browser for a test file, in a fresh profile directory (removed on close). Fails with what
 * to do when the page has not been built or Chromium is not installed.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(BUILT_PAGE)) {
    throw new Error(`${BUILT_PAGE} is missing: build the page first (npm run build; npm test does)`)
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`)
  }
  const profile = mkdtempSync(join(tmpdir(), 'tickstorm-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1440, height: 960 },
  })
  return {
    context,
    async newPage() {
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      return { page, errors }
    },
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}
