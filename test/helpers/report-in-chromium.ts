import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type Browser, launchBrowser } from '../web/browser.js'

/** A report.html written to a fresh directory, and the browser that opens it from the file. */
export interface ReportInChromium {
  readonly browser: Browser
  /** Where the report is (screenshots may go beside it). */
  readonly dir: string
  /** The report's file: URL, as a reader opens it (offline, no server). */
  readonly url: string
  /** Closes the browser and removes the directory. */
  close(): Promise<void>
}

export async function reportInChromium(html: string): Promise<ReportInChromium> {
  const browser = await launchBrowser()
  const dir = mkdtempSync(join(tmpdir(), 'tickstorm-report-'))
  const file = join(dir, 'report.html')
  writeFileSync(file, html)
  return {
    browser,
    dir,
    url: pathToFileURL(file).href,
    async close() {
      await browser.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
