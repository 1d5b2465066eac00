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
