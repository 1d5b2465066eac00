#!/usr/bin/env node
// The CLI runs from compiled dist/ with plain node, so no TypeScript loader sits inside a
// measurement. `npm run build` (run by `npm start` and `npm test`) produces it.
import { existsSync } from 'node:fs'

const entry = new URL('../dist/src/cli/main.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('tickstorm: dist/ is missing; run `npm run build` first\n')
  process.exit(1)
}
const { runCli } = await import(entry.href)
runCli(process.argv.slice(2))
