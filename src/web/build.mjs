// Builds the live ticker page into dist/web/, which the server reads at start-up and serves from
// memory: index.html, app.js (the TypeScript modules and uPlot, bundled) and app.css (ours and
// uPlot's). Everything the page needs ships in those files: no CDN, no network at run time.
// A plain Node script so `npm run build` needs no loader; the page's types are checked by
// `tsc -p src/web/tsconfig.json` (npm run lint), since esbuild only strips them.
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const source = fileURLToPath(new URL('./', import.meta.url))
const outdir = fileURLToPath(new URL('../../dist/web/', import.meta.url))

// A clean directory: the server serves every file in it, so a stale one would be served too.
await rm(outdir, { recursive: true, force: true })
await mkdir(outdir, { recursive: true })
await build({
  entryPoints: { app: `${source}app.ts` },
  bundle: true,
  format: 'esm',
  // Browsers from early 2023 on: EventSource, fetch, WebSocket, ResizeObserver, Web Animations.
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: true,
  legalComments: 'eof',
  outdir,
  logLevel: 'warning',
})
await copyFile(`${source}index.html`, `${outdir}index.html`)
console.log(`web: built ${outdir}index.html, app.js, app.css`)
