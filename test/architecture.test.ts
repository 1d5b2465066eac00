import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

/**
 * The import rules of DESIGN.md, checked on the code as it is: each part of `src/` imports only
 * the parts below it (and itself), nothing imports in a circle, and the harness takes from
 * `report` only the measurement vocabulary. A new import against the flow fails here, naming it.
 */

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

/**
 * Each part and what it may import besides itself. Files at the top of src/ (clock, errors, …)
 * are shared by all; the package entry (index.ts) and the CLI sit above everything; the page
 * (src/web) is a browser bundle of its own and imports none of this.
 */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  market: [],
  wire: ['market'],
  feed: ['market', 'wire'],
  server: ['market', 'wire', 'feed'],
  report: [],
  harness: ['market', 'wire', 'report'],
  cli: ['market', 'wire', 'feed', 'server', 'report', 'harness'],
  web: [],
}

/** What the harness may take from report: what is measured, its record, how it is judged. */
const REPORT_VOCABULARY = new Set([
  'report/measurements.ts',
  'report/result-schema.ts',
  'report/transport-result.ts',
  'report/thresholds.ts',
  'report/live.ts',
])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** A file's relative imports (values and types alike), as paths relative to src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g)].map(
    (match) => relative(SRC, resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts'))),
  )
}

/** The part a path of src/ belongs to: its top folder, or '' for the shared files at the top. */
function partOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.indexOf('/')) : ''
}

const files = sourceFiles(SRC).map((file) => relative(SRC, file))
const graph = new Map(files.map((file) => [file, importsOf(join(SRC, file))]))

describe('the import rules of DESIGN.md', () => {
  test('every part imports only the parts below it', () => {
    const against: string[] = []
    for (const [file, imports] of graph) {
      const part = partOf(file)
      if (part === '' || part === 'cli') continue
      const allowed = MAY_IMPORT[part]
      expect(allowed, `${file}: a part of src/ that DESIGN.md does not place`).toBeDefined()
      for (const target of imports) {
        const to = partOf(target)
        const ok = target !== 'index.ts' && (to === part || to === '' || allowed!.includes(to))
        if (!ok) against.push(`${file} → ${target}`)
      }
    }
    expect(against).toEqual([])
  })

  test('the shared files at the top of src/ import no part', () => {
    const shared = [...graph].filter(([file]) => partOf(file) === '' && file !== 'index.ts')
    const against = shared.flatMap(([file, imports]) =>
      imports.filter((target) => partOf(target) !== '').map((target) => `${file} → ${target}`),
    )
    expect(against).toEqual([])
  })

  test('the harness takes from report only the measurement vocabulary', () => {
    const against = [...graph]
      .filter(([file]) => partOf(file) === 'harness')
      .flatMap(([file, imports]) =>
        imports
          .filter((target) => partOf(target) === 'report' && !REPORT_VOCABULARY.has(target))
          .map((target) => `${file} → ${target}`),
      )
    expect(against).toEqual([])
  })

  test('no file imports itself back through others (no circles)', () => {
    const circles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return
      if (state.get(file) === 'open') {
        circles.push([...path.slice(path.indexOf(file)), file].join(' → '))
        return
      }
      state.set(file, 'open')
      for (const target of graph.get(file) ?? []) visit(target, [...path, file])
      state.set(file, 'done')
    }
    for (const file of graph.keys()) visit(file, [])
    expect(circles).toEqual([])
  })

  test('the checks see real imports (a file known to import another is read as doing so)', () => {
    expect(graph.get('feed/event-log.ts')).toContain('wire/sse-frame.ts')
    expect(
      graph.get('server/app.ts')?.some((target) => target.startsWith('server/transports/')),
    ).toBe(true)
  })
})
