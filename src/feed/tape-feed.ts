import type { TickstormError } from '../errors.js'
import type { TapeMarket } from '../market/tapes/tape-market.js'
import { createFeed, type FeedDeps, type FeedOptions } from './feed.js'
import type { FrameSource } from './log-source.js'

/**
 * A recorded tape replayed as the server's source: the model's feed, paced and numbered exactly as
 * for the model (ids, per-symbol q, replay ring, snapshots, conflation), over a market that reads
 * the tape (tape-market.ts). Only what is the tape's own differs: /healthz says where the replay
 * is, a read that fails mid-replay is the source's failure, and closing lets go of the file.
 */
export function createTapeFeed(
  market: TapeMarket,
  options: Partial<FeedOptions> = {},
  deps: Omit<FeedDeps, 'market'> = {},
): FrameSource & { readonly market: TapeMarket } {
  const feed = createFeed({ ...deps, market }, options)
  return {
    history: feed.history,
    symbols: feed.symbols,
    get headSeq() {
      return feed.headSeq
    },
    onFrame: feed.onFrame,
    state: feed.state,
    stats: feed.stats,
    market,
    start: feed.start,
    onTickFrame: feed.onTickFrame,
    describe: () => market.describe(),
    onFailure(listener: (error: TickstormError) => void) {
      market.onFailure(listener)
    },
    async close() {
      await feed.close()
      await market.close()
    },
  }
}
