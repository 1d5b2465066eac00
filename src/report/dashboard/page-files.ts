/**
 * The dashboard page's built files (src/web/dashboard, bundled by src/web/build.mjs into
 * `dist/dashboard/`), read once when the dashboard starts and served from memory. They sit
 * beside `dist/web/` rather than in it: the ticker server serves every file under `dist/web/`,
 * and the dashboard is the harness's page, not the market's.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface PageFile {
  readonly bytes: Buffer
  readonly contentType: string
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

/**
 * `dist/dashboard/` beside the compiled module (dist/src/report/dashboard → dist/dashboard), or
 * the checkout's when this runs from source (tests); null when the page has not been built.
 */
export function defaultPageRoot(): string | null {
  for (const candidate of ['../../../dashboard/', '../../../dist/dashboard/']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(join(path, 'index.html'))) return path
  }
  return null
}

/** The files by URL path (`/dashboard.js`), `/` for index.html; empty when `root` is null. */
export function loadPageFiles(root: string | null): ReadonlyMap<string, PageFile> {
  const files = new Map<string, PageFile>()
  if (root === null) return files
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const type = CONTENT_TYPES[extname(entry.name)]
    if (!entry.isFile() || type === undefined) continue
    files.set(`/${entry.name}`, { bytes: readFileSync(join(root, entry.name)), contentType: type })
  }
  const index = files.get('/index.html')
  if (index !== undefined) files.set('/', index)
  return files
}

/** What `/` says when the page was not built: the stream itself still works. */
export const UNBUILT_PAGE = `<!doctype html><meta charset="utf-8"><title>tickstorm dashboard</title>
<p>The dashboard page has not been built (<code>npm run build</code> builds it). Its event stream
is at <a href="/events">/events</a>.</p>
`
