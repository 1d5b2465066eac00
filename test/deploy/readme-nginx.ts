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

/**
 * The README's block with only what a test must change: where nginx listens, where the two edges
 * are, where the certificate and key are. The same values `nginx.test.ts` replaces.
 */
export function readmeNginxSiteFor(target: {
  port: number
  edgePorts: readonly [number, number]
  certPath: string
  keyPath: string
}): string {
  const [a, b] = target.edgePorts
  return substitute(readmeNginxSite(), [
    {
      what: 'the listen port',
      readme: 'listen 443 ssl http2;',
      replacement: `listen 127.0.0.1:${target.port} ssl http2;`,
    },
    { what: 'edge 1', readme: 'server 127.0.0.1:8081;', replacement: `server 127.0.0.1:${a};` },
    { what: 'edge 2', readme: 'server 127.0.0.1:8082;', replacement: `server 127.0.0.1:${b};` },
    {
      what: 'the certificate',
      readme: '/etc/ssl/tickstorm/fullchain.pem',
      replacement: target.certPath,
    },
    { what: 'the key', readme: '/etc/ssl/tickstorm/privkey.pem', replacement: target.keyPath },
  ])
}

/**
 * The lines that make nginx speak HTTP/1.1 to the edges. uWebSockets.js never answers HTTP/1.0,
 * nginx's default upstream protocol, so without the first every proxied request gets a 502; the
 * second keeps upstream connections alive (nginx sends "Connection: close" otherwise).
 */
export const UPSTREAM_HTTP11_LINES = ['proxy_http_version 1.1;', 'proxy_set_header Connection "";']
