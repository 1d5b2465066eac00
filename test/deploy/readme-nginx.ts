import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const README = fileURLToPath(new URL('../../README.md', import.meta.url))

/**
 * The README's nginx example, exactly as a reader copies it: the one ```nginx block in
 * README.md. The test runs this text, so the example cannot drift from what works.
 */
export function readmeNginxSite(): string {
  const blocks = [...readFileSync(README, 'utf8').matchAll(/^```nginx\n([\s\S]*?)^```$/gm)]
  if (blocks.length !== 1) {
    throw new Error(`README.md must hold exactly one \`\`\`nginx block, found ${blocks.length}`)
  }
  return blocks[0]![1]!
}

/** A value the README's example hard-codes for a real host, and what a test uses instead. */
export interface Placeholder {
  /** What it stands for, for the error when the README changed. */
  readonly what: string
  /** The exact text in the README's block; it must occur there exactly once. */
  readonly readme: string
  readonly replacement: string
}

/**
 * Replaces each placeholder, and nothing else. A placeholder missing from the block, or found
 * twice, is an error naming it: the README's example changed and the test must follow it.
 */
export function substitute(site: string, placeholders: readonly Placeholder[]): string {
  let result = site
  for (const { what, readme, replacement } of placeholders) {
    const count = result.split(readme).length - 1
    if (count !== 1) {
      throw new Error(`README nginx block: ${what} (${JSON.stringify(readme)}) found ${count}×`)
    }
    result = result.replace(readme, () => replacement)
  }
  return result
}
