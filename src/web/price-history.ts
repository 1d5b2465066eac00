/** One point per 200 ms of market time: fine enough to see ticks, 1,500 points = 5 minutes. */
export const BUCKET_MS = 200
export const HISTORY_BUCKETS = 1500

export interface HistorySeries {
  /** Seconds since the epoch (uPlot's time axis), oldest first. */
  readonly time: number[]
  readonly bid: (number | null)[]
  readonly ask: (number | null)[]
  readonly mid: (number | null)[]
  readonly last: (number | null)[]
}

/**
 * A symbol's recent prices for the charts, bounded: the closing bid, ask and last trade of each
 * 200-ms bucket of scheduled time, in a fixed ring. Bucketing by the event's own `ts` keeps the
 * chart right after a reconnect, when replayed events arrive late but in order.
 */
export interface PriceHistory {
  record(tsUs: number, bid: number, ask: number, last: number): void
  /** Bumped by every `record`: charts redraw only when it moved. */
  readonly version: number
  readonly length: number
  series(): HistorySeries
}

export function createPriceHistory(): PriceHistory {
  const slots = new Float64Array(HISTORY_BUCKETS)
  const bids = new Float64Array(HISTORY_BUCKETS)
  const asks = new Float64Array(HISTORY_BUCKETS)
  const lasts = new Float64Array(HISTORY_BUCKETS)
  let head = -1
  let length = 0
  let version = 0
  const orNull = (value: number): number | null => (Number.isFinite(value) ? value : null)

  return {
    record(tsUs, bid, ask, last) {
      version++
      const slot = Math.floor(tsUs / 1000 / BUCKET_MS)
      // A tick stamped a little earlier than the current bucket (events of one frame are not
      // strictly ordered by ts) closes the current bucket instead of rewriting history.
      if (head < 0 || slot > slots[head]!) {
        head = (head + 1) % HISTORY_BUCKETS
        if (length < HISTORY_BUCKETS) length++
        slots[head] = slot
      }
      bids[head] = bid
      asks[head] = ask
      lasts[head] = last
    },
    get version() {
      return version
    },
    get length() {
      return length
    },
    series() {
      const series: HistorySeries = { time: [], bid: [], ask: [], mid: [], last: [] }
      for (let n = length - 1; n >= 0; n--) {
        const index = (head - n + HISTORY_BUCKETS) % HISTORY_BUCKETS
        const bid = bids[index]!
        const ask = asks[index]!
        series.time.push((slots[index]! * BUCKET_MS) / 1000)
        series.bid.push(orNull(bid))
        series.ask.push(orNull(ask))
        series.mid.push(orNull((bid + ask) / 2))
        series.last.push(orNull(lasts[index]!))
      }
      return series
    },
  }
}
