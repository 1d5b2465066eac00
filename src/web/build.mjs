// Builds the live ticker page into dist/web/, which the server reads at start-up and serves from
// memory: index.html, app.js (the TypeScript modules and uPlot, bundled) and app.css (ours and
// uPlot's). Everything the page needs ships in those files: no CDN, no network at run time.
// And the run dashboard (`tickstorm run --dashboard`, src/web/dashboard/) into dist/dashboard/:
// index.html, dashboard.js, dashboard.css, served by the harness's dashboard, not by the ticker
// server (which serves every file under dist/web/).
// A plain Node script so `npm run build` needs no loader; the page's types are checked by
// `tsc -p src/web/tsconfig.json` (npm run lint), since esbuild only strips them.
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const source = fileURLToPath(new URL('./', import.meta.url))
const outdir = fileURLToPath(new URL('../../dist/web/', import.meta.url))
const dashboardOutdir = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url))

/** Browsers from early 2023 on: EventSource, fetch, WebSocket, ResizeObserver, Web Animations. */
const BROWSERS = ['chrome110', 'firefox110', 'safari16']

/** One page: its entry bundled (with its CSS) into a clean `out`, and its index.html copied. */
async function buildPage(entryPoints, html, out) {
  // A clean directory: the server serves every file in it, so a stale one would be served too.
  await rm(out, { recursive: true, force: true })
  await mkdir(out, { recursive: true })
  await build({
    entryPoints,
    bundle: true,
    format: 'esm',
    target: BROWSERS,
    minify: true,
    sourcemap: true,
    legalComments: 'eof',
    outdir: out,
    logLevel: 'warning',
  })
  await copyFile(html, `${out}index.html`)
}

await buildPage({ app: `${source}app.ts` }, `${source}index.html`, outdir)
console.log(`web: built ${outdir}index.html, app.js, app.css`)
await buildPage(
  { dashboard: `${source}dashboard/app.ts` },
  `${source}dashboard/index.html`,
  dashboardOutdir,
)
console.log(`web: built ${dashboardOutdir}index.html, dashboard.js, dashboard.css`)
