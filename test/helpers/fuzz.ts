import type fc from 'fast-check'

/**
 * The fast-check seed of the property tests (`*.fuzz.test.ts`, `hostile-input.test.ts`). Fixed by
 * default, like the seeded generators of the other tests, so a run is reproducible and a red test
 * is red for everyone. `FC_SEED=<n>` replays a seed fast-check printed; `FC_SEED=random` explores
 * new inputs (fast-check prints the seed and the shrunk counterexample of any failure).
 */
export const FUZZ_SEED: number | undefined =
  process.env['FC_SEED'] === 'random' ? undefined : Number(process.env['FC_SEED'] ?? 20_261_124)

/** Options for `fc.assert`: the run count, and the seed unless exploring. */
export function fuzzRuns<Ts = unknown>(numRuns: number): fc.Parameters<Ts> {
  return FUZZ_SEED === undefined ? { numRuns } : { numRuns, seed: FUZZ_SEED }
}

/** The parts one after another, as one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * Cuts `bytes` at the given offsets (any order, duplicates and out-of-range ones allowed) into
 * copies, as a socket would hand out fresh buffers; empty chunks are fed too.
 */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Uint8Array[] = []
  let start = 0
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.slice(start, point))
    start = point
  }
  return chunks
}
