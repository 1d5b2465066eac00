import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** One file of the demo page, read once at start-up and served from memory. */
export interface StaticFile {
  readonly bytes: Uint8Array
  readonly contentType: string
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

/**
 * Where the built page lives: `dist/web/` beside the compiled server, or in the checkout's
 * `dist/web/` when the server runs from source (tests). Null when the page has not been built.
 */
export function defaultWebRoot(): string | null {
  const candidates = [
    new URL('../../web/', import.meta.url),
    new URL('../../dist/web/', import.meta.url),
  ]
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate)
    if (existsSync(join(path, 'index.html'))) return path
  }
  return null
}

/** Every file under `root` by URL path (`/index.html`, `/app.js`), `/` for the index. */
export function loadStaticFiles(root: string): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else {
        const url = `/${relative(root, path).split(sep).join('/')}`
        files.set(url, {
          bytes: readFileSync(path),
          contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
        })
      }
    }
  }
  walk(root)
  const index = files.get('/index.html')
  if (index !== undefined) files.set('/', index)
  return files
}
