/**
 * tickstorm against two other push servers, nchan (nginx, one worker) and Pushpin, driven by
 * tickstorm's harness through its target adapters with the same seeded market in one run, one
 * server at a time. Two cores here, shared by the server and the harness.
 *
 *   npm run build && node dist/bench/peers.bench.js [broadcast|ticker ...] [--quick] [--results DIR]
 *     [--ticker-subscribers N --ticker-ramp R]   (results to ticker-<N>)
 *   node dist/bench/peers.bench.js --rejudge broadcast ticker-5000 ...   (verdicts again from the JSON)
 *
 * The events are the same for all three: tickstorm runs the scenario's `server:` market itself
 * (`target: embedded`); for nchan and Pushpin the harness runs that market and publishes every
 * tick through their publish APIs (`source: harness`). So tickstorm's server CPU includes making
 * its market, and nchan's and Pushpin's include taking the publishes; the harness's publisher is
 * in the harness's CPU, not theirs.
 *
 * - broadcast: every subscriber on one symbol (a one-symbol quiet market at R events/s), 1k × 100/s
 *   and 10k × 5/s, per transport each target offers (SSE and WebSocket; long-poll for tickstorm and
 *   nchan).
 * - ticker: 10k SSE subscribers on 20-symbol Zipf watch-lists (Pushpin's per-connection cap, 20
 *   channels) over the normal preset's 500 symbols, at 25 and 100 market events/s.
 *
 * Each workload prints a table and writes `results/bench-peers/<workload>.{txt,json,md}` with the
 * machine, Node version and commit, the ratios against nchan and the issue's targets met or missed.
 */

import { readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { oneSymbolMarket, serverBlock } from './fanout/measure.js'
import { benchHeader, COLUMNS, failedRow, fmt, kilo, line, saveResult } from './fanout/report.js'
import { waitForQuietBox } from './peers/box-load.js'
import { measurePeer, type PeerRow, type PeerRun } from './peers/measure.js'
import { prepareNchan, startPushpinPeer } from './peers/start.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
/** The value after `--name`, and the indexes it and its value take in argv. */
function option(name: string): { value: string | undefined; at: number } {
  const at = args.indexOf(name)
  return { value: at >= 0 ? args[at + 1] : undefined, at }
}
const resultsAt = option('--results').at
const tickerSubscribersOption = option('--ticker-subscribers')
const tickerRampOption = option('--ticker-ramp')
const valueIndexes = new Set(
  [resultsAt, tickerSubscribersOption.at, tickerRampOption.at]
    .filter((at) => at >= 0)
    .map((at) => at + 1),
)
const workloads = args.filter((arg, index) => !arg.startsWith('--') && !valueIndexes.has(index))
const selected = workloads.length > 0 ? workloads : ['broadcast', 'ticker']
const RESULTS =
  resultsAt >= 0 && args[resultsAt + 1] !== undefined
    ? `${resolve(args[resultsAt + 1]!)}/`
    : fileURLToPath(new URL('../../results/bench-peers/', import.meta.url))

// Ctrl-C or SIGTERM: the run in progress stops its target and subscribers, and no row follows.
const stopping = new AbortController()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => stopping.abort(signal))
}

/** Cores someone else may be using before a row starts, and during one before it is run again. */
const QUIET_BUSY_CORES = 0.3
const OTHER_CORES_RERUN = 0.35
const QUIET_WAIT_MS = 45_000

const NOTES = [
  '# 2 cores shared by the server and the harness. Same seeded market for all: tickstorm runs it (embedded),',
  '# the harness publishes it into nchan and Pushpin (source: harness; the publisher is in the harness CPU).',
  '# nchan: bench/peers/nchan.conf, one worker, worker_connections raised to subscribers + 1024 for the run.',
  '# Pushpin: bench/peers/pushpin.conf (message_rate 1,000,000; connection_subscription_max 20), CPU summed',
  '# over its runner and services (condure, zurl, pushpin-proxy, pushpin-handler).',
  `# Shared box: each row waits for < ${QUIET_BUSY_CORES} busy cores first, and is run again once if other work took > ${OTHER_CORES_RERUN} cores in its window ("other").`,
]
const header = [benchHeader(`node dist/bench/peers.bench.js ${args.join(' ')}`), ...NOTES].join(
  '\n',
)

type TargetName = 'tickstorm' | 'nchan' | 'pushpin'
type Transport = 'sse' | 'ws' | 'longpoll'

const OFFERS: Readonly<Record<TargetName, readonly Transport[]>> = {
  nchan: ['sse', 'ws', 'longpoll'],
  tickstorm: ['sse', 'ws', 'longpoll'],
  pushpin: ['sse', 'ws'],
}
const TARGETS: readonly TargetName[] = ['nchan', 'tickstorm', 'pushpin']

type Workload = Omit<PeerRun, 'target' | 'server'>

/**
 * Pushpin takes new connections more slowly than the others (each is a request to its GRIP origin
 * through zurl): at 2,000/s it had 4,600 of 10k within the harness's 20 s, so it gets a slower
 * ramp. The ramp is outside the measured window, so the rows still compare.
 */
const PUSHPIN_RAMP_PER_SEC = 400

function rampFor(name: TargetName, workload: Workload): number {
  return name === 'pushpin'
    ? Math.min(workload.rampPerSec, PUSHPIN_RAMP_PER_SEC)
    : workload.rampPerSec
}

/** One target, started for this row and stopped after it; a target that fails is a row too. */
async function peerRow(workload: Workload, name: TargetName): Promise<PeerRow> {
  const run = { ...workload, server: name, rampPerSec: rampFor(name, workload) }
  try {
    if (name === 'tickstorm')
      return await measurePeer({ ...run, target: 'embedded' }, stopping.signal)
    if (name === 'nchan') {
      const nchan = await prepareNchan(workload.subscribers)
      try {
        return await measurePeer({ ...run, target: nchan.target }, stopping.signal)
      } finally {
        nchan.remove()
      }
    }
    const pushpin = await startPushpinPeer()
    try {
      return await measurePeer({ ...run, target: pushpin.target }, stopping.signal)
    } finally {
      await pushpin.stop()
    }
  } catch (error) {
    return {
      ...failedRow(run, name, (error as Error).message),
      source: name === 'tickstorm' ? 'server' : 'harness',
      published: null,
      publishFailed: null,
      tailLost: null,
      harnessCores: 0,
      boxCores: null,
      otherCores: null,
    }
  }
}

/**
 * A row measured on a quiet box: waits for one, and runs the row again (once) when other work
 * took cores during its window; the row says how many attempts it took.
 */
async function quietRow(
  workload: Workload,
  name: TargetName,
): Promise<PeerRow & { attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    const quiet = await waitForQuietBox(
      cpus().length,
      QUIET_BUSY_CORES,
      QUIET_WAIT_MS,
      stopping.signal,
    )
    if (quiet.busyCores >= QUIET_BUSY_CORES)
      console.log(
        `(the box stayed busy: ${quiet.busyCores.toFixed(2)} cores after ${quiet.waitedMs} ms; measuring anyway)`,
      )
    const row = await peerRow(workload, name)
    const other = row.otherCores ?? 0
    if (attempt >= 2 || other <= OTHER_CORES_RERUN || stopping.signal.aborted)
      return { ...row, attempts: attempt }
    console.log(
      `(other work took ${other} cores during ${name} ${workload.transport}: running it again)`,
    )
  }
}

const PEER_COLUMNS = `${COLUMNS}  loss ratio  other  published`

function peerLine(row: PeerRow): string {
  const published =
    row.published === null
      ? '—'
      : `${row.published}${row.publishFailed ? ` (${row.publishFailed} failed)` : ''}`
  return `${line(row)}  ${row.lossRatio.toExponential(1).padStart(10)}  ${fmt(row.otherCores, 2).padStart(5)}  ${published}`
}

/** `a / b` to two places, or — when either is unknown or b is 0. */
function ratio(a: number | null, b: number | null): string {
  return a === null || b === null || b === 0 || a === 0 ? '—' : (a / b).toFixed(2)
}

const MARKDOWN_HEAD = [
  '| target | transport | subs | market ev/s (per sub) | deliveries/s | p50 / p99 / p99.9 ms | lost (ratio) | server CPU µs/delivery | server RSS B/conn | B/event | valid | ×nchan deliv/s | ×nchan CPU/deliv | ×nchan p99 | other cores |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|',
]

function markdownRow(row: PeerRow, nchan: PeerRow | undefined): string {
  const versus = (pick: (r: PeerRow) => number | null) =>
    nchan === undefined || row.server === 'nchan' ? '' : ratio(pick(row), pick(nchan))
  const failed = row.connected === 0 && !row.valid
  return `| ${[
    row.server,
    row.transport,
    kilo(row.subscribers),
    `${row.ratePerSec ?? '—'} (${fmt(row.eventsPerSecPerSubscriber)})`,
    kilo(row.deliveriesPerSec),
    failed ? '—' : `${fmt(row.p50Ms)} / ${fmt(row.p99Ms)} / ${fmt(row.p999Ms)}`,
    `${row.lost} (${row.lossRatio === 0 ? '0' : row.lossRatio.toExponential(1)})`,
    fmt(row.serverCpuSecPerMillion, 2),
    row.serverBytesPerConnection === null ? '—' : kilo(row.serverBytesPerConnection),
    fmt(row.bytesPerEvent, 0),
    row.valid ? 'yes' : `no: ${row.invalidReasons.join('; ').replaceAll('|', '/')}`,
    versus((r) => r.deliveriesPerSec),
    versus((r) => r.serverCpuSecPerMillion),
    versus((r) => r.p99Ms),
    fmt(row.otherCores, 2),
  ].join(' | ')} |`
}

function report(
  workload: string,
  rows: readonly PeerRow[],
  lines: string[],
  verdicts: string[],
  runHeader = header,
) {
  const markdown = [...MARKDOWN_HEAD]
  for (const row of rows) {
    const nchan = rows.find(
      (r) =>
        r.server === 'nchan' &&
        r.transport === row.transport &&
        r.subscribers === row.subscribers &&
        r.ratePerSec === row.ratePerSec,
    )
    markdown.push(markdownRow(row, nchan))
  }
  const md = [
    runHeader
      .split('\n')
      .map((text) => text.replace(/^# /, ''))
      .join('  \n'),
    '',
    ...markdown,
    '',
    ...verdicts.map((text) => `- ${text}`),
  ]
  saveResult(`${RESULTS}${workload}`, runHeader, [...lines, '', ...verdicts], rows)
  writeFileSync(`${RESULTS}${workload}.md`, `${md.join('\n')}\n`)
}

/** A row that carried its load: measured, valid, nothing lost, no errors. */
const clean = (row: PeerRow) => row.valid && row.connected > 0 && row.lost === 0 && row.errors === 0

const by = (times: number) => `×${times.toFixed(2)}`

async function broadcast(): Promise<void> {
  const lines = [PEER_COLUMNS]
  const rows: PeerRow[] = []
  console.log(PEER_COLUMNS)
  const plan: [number, number][] = quick
    ? [[300, 20]]
    : [
        [1000, 100],
        [10_000, 5],
      ]
  for (const [subscribers, ratePerSec] of plan) {
    for (const transport of ['sse', 'ws', 'longpoll'] as const) {
      for (const name of TARGETS) {
        if (!OFFERS[name].includes(transport)) continue
        if (stopping.signal.aborted) break
        const row = await quietRow(
          {
            workload: 'broadcast',
            transport,
            subscribers,
            ratePerSec,
            market: serverBlock(oneSymbolMarket(ratePerSec)),
            watchList: '{ size: 1 }',
            rampPerSec: Math.min(2000, subscribers),
            warmupSec: 3,
            durationSec: quick ? 5 : 10,
          },
          name,
        )
        rows.push(row)
        lines.push(peerLine(row))
        console.log(lines.at(-1))
      }
    }
  }
  const verdicts = broadcastVerdicts(rows)
  for (const text of verdicts) console.log(text)
  report('broadcast', rows, lines, verdicts)
}

/**
 * The issue's broadcast target: tickstorm's server CPU per delivery ≤ 0.8× nchan's, and its p99
 * no worse than nchan's at equal load (the same market, so the same deliveries when both keep up).
 */
function broadcastVerdict(
  subscribers: number,
  ratePerSec: number,
  transport: Transport,
  byTarget: ReadonlyMap<TargetName, PeerRow>,
): string {
  const label = `${kilo(subscribers)} × ${ratePerSec}/s ${transport}`
  const ours = byTarget.get('tickstorm')
  const nchan = byTarget.get('nchan')
  const pushpin = byTarget.get('pushpin')
  const pushpinText =
    pushpin === undefined || nchan === undefined
      ? ''
      : `; Pushpin/nchan: deliveries/s ×${ratio(pushpin.deliveriesPerSec, nchan.deliveriesPerSec)}, CPU/delivery ×${ratio(pushpin.serverCpuSecPerMillion, nchan.serverCpuSecPerMillion)}, p99 ×${ratio(pushpin.p99Ms, nchan.p99Ms)}`
  if (ours === undefined || nchan === undefined) return `${label}: no comparison`
  const missing = [ours, nchan].filter((r) => !measured(r))
  if (missing.length > 0 || ours.serverCpuSecPerMillion === null) {
    return `${label}: no comparison, ${missing.map((r) => `${r.server} (${r.invalidReasons.join('; ')})`).join(' and ')}${pushpinText}`
  }
  const cpu = ours.serverCpuSecPerMillion / nchan.serverCpuSecPerMillion!
  const p99 = ours.p99Ms / nchan.p99Ms
  const load = ours.deliveriesPerSec / nchan.deliveriesPerSec
  return `${label}: tickstorm/nchan CPU per delivery ${by(cpu)} (target ≤ 0.80: ${cpu <= 0.8 ? 'met' : `missed by ${by(cpu / 0.8)}`}), p99 ${by(p99)} (${ours.p99Ms} vs ${nchan.p99Ms} ms; target ≤ 1.00: ${p99 <= 1 ? 'met' : `missed by ${by(p99)}`}), deliveries/s ${by(load)}${Math.abs(load - 1) > 0.05 ? ' (unequal load)' : ''}${caveats([ours, nchan])}${pushpinText}`
}

/** A row with deliveries to compare, whether or not it carried its load cleanly. */
const measured = (row: PeerRow) => row.connected > 0 && row.deliveriesPerSec > 0

/** What makes a compared row less than clean, briefly: ` [nchan: publisher behind, lost 12]`. */
function caveats(rows: readonly PeerRow[]): string {
  const notes = rows
    .filter((row) => !clean(row))
    .map((row) => {
      const why = row.invalidReasons.map((reason) =>
        reason.includes('publisher fell behind')
          ? 'publisher behind (publish answers slower than the schedule)'
          : reason.includes('event-loop delay')
            ? 'harness event-loop lag'
            : reason,
      )
      if (row.lost > 0) why.push(`lost ${row.lost}`)
      if (row.errors > 0) why.push(`${row.errors} errors`)
      return `${row.server}: ${why.join(', ')}`
    })
  return notes.length === 0 ? '' : ` [not clean: ${notes.join('; ')}]`
}

/** The broadcast verdicts, one per subscribers × rate × transport, from the rows. */
function broadcastVerdicts(rows: readonly PeerRow[]): string[] {
  const keyOf = (row: PeerRow) => `${row.subscribers}/${row.ratePerSec}/${row.transport}`
  const keys = [...new Set(rows.map(keyOf))]
  return keys.map((key) => {
    const group = rows.filter((row) => keyOf(row) === key)
    const first = group[0]!
    const byTarget = new Map(group.map((row) => [row.server as TargetName, row]))
    return broadcastVerdict(
      first.subscribers,
      first.ratePerSec ?? 0,
      first.transport as Transport,
      byTarget,
    )
  })
}

async function ticker(): Promise<void> {
  const lines = [PEER_COLUMNS]
  const rows: PeerRow[] = []
  const verdicts: string[] = []
  console.log(PEER_COLUMNS)
  // `--ticker-subscribers N` and `--ticker-ramp R` (connects/s) for a box where 10k at 2,000/s do
  // not come up for every target; the results then go to ticker-<N>.
  const subscribers = Number(tickerSubscribersOption.value ?? (quick ? 1000 : 10_000))
  const rampPerSec = Number(tickerRampOption.value ?? 2000)
  // The normal preset's 500 symbols: 10k such subscribers take ~2,100 deliveries/s per market
  // event/s, so 25 and 100 events/s are ~50k and ~210k deliveries/s; tickstorm's one core tops out
  // near 530k here (results/bench-fanout/ticker.txt), and one nginx worker below that.
  const rates = quick ? [100] : [25, 100]
  for (const ratePerSec of rates) {
    for (const name of TARGETS) {
      if (stopping.signal.aborted) break
      const row = await quietRow(
        {
          workload: 'ticker',
          transport: 'sse',
          subscribers,
          ratePerSec,
          market: serverBlock({ preset: 'normal', seed: 1, frameMs: 5, speed: 1, ratePerSec }),
          watchList: '{ size: 20, pick: zipf }',
          rampPerSec,
          warmupSec: 3,
          durationSec: quick ? 5 : 10,
        },
        name,
      )
      rows.push(row)
      lines.push(peerLine(row))
      console.log(lines.at(-1))
    }
  }
  verdicts.push(...tickerVerdicts(rows))
  for (const text of verdicts) console.log(text)
  report(
    tickerSubscribersOption.value === undefined ? 'ticker' : `ticker-${subscribers}`,
    rows,
    lines,
    verdicts,
  )
}

/**
 * The issue's ticker targets: tickstorm's deliveries/s at p99 ≤ 100 ms with zero loss ≥ 2× nchan's
 * (the best passing rate of each), and its server CPU per delivery ≤ 0.5× nchan's (per rate).
 */
function tickerVerdicts(rows: readonly PeerRow[]): string[] {
  const rates = [...new Set(rows.map((row) => row.ratePerSec ?? 0))]
  const passes = (row: PeerRow) => clean(row) && row.p99Ms <= 100
  const best = (name: TargetName) =>
    rows
      .filter((r) => r.server === name && passes(r))
      .reduce<PeerRow | null>(
        (a, r) => (a === null || r.deliveriesPerSec > a.deliveriesPerSec ? r : a),
        null,
      )
  const describe = (name: TargetName) => {
    const row = best(name)
    return row === null
      ? `${name}: no rate passed`
      : `${name}: ${kilo(row.deliveriesPerSec)}/s at ${row.ratePerSec} events/s (p99 ${row.p99Ms} ms)`
  }
  const verdicts = [
    `best passing (p99 ≤ 100 ms, zero loss, valid): ${TARGETS.map(describe).join('; ')}`,
  ]
  const ours = best('tickstorm')
  const nchan = best('nchan')
  if (ours === null)
    verdicts.push('deliveries/s target (≥ 2× nchan): missed, tickstorm passed at no rate tried')
  else if (nchan === null)
    verdicts.push(
      `deliveries/s target (≥ 2× nchan): nchan passed at no rate tried, so no ratio; tickstorm carried ${kilo(ours.deliveriesPerSec)}/s`,
    )
  else {
    const times = ours.deliveriesPerSec / nchan.deliveriesPerSec
    const capped = rates.at(-1) === ours.ratePerSec && rates.at(-1) === nchan.ratePerSec
    verdicts.push(
      `deliveries/s target (≥ 2× nchan): ${by(times)} — ${times >= 2 ? 'met' : `missed by ${by(2 / times)}`}${capped ? ' (both passed the highest rate tried: a lower bound, not capacity)' : ''}`,
    )
  }
  for (const ratePerSec of rates) {
    const at = (name: TargetName) =>
      rows.find((r) => r.server === name && r.ratePerSec === ratePerSec)
    const a = at('tickstorm')
    const n = at('nchan')
    const p = at('pushpin')
    const cpu =
      a?.serverCpuSecPerMillion == null || n?.serverCpuSecPerMillion == null
        ? null
        : a.serverCpuSecPerMillion / n.serverCpuSecPerMillion
    verdicts.push(
      `${ratePerSec} events/s: tickstorm/nchan CPU per delivery ${cpu === null ? '—' : `${by(cpu)} (target ≤ 0.50: ${cpu <= 0.5 ? 'met' : `missed by ${by(cpu / 0.5)}`})`}, deliveries/s ×${ratio(a?.deliveriesPerSec ?? null, n?.deliveriesPerSec ?? null)}, p99 ×${ratio(a?.p99Ms ?? null, n?.p99Ms ?? null)}; Pushpin/nchan deliveries/s ×${ratio(p?.deliveriesPerSec ?? null, n?.deliveriesPerSec ?? null)}, CPU/delivery ×${ratio(p?.serverCpuSecPerMillion ?? null, n?.serverCpuSecPerMillion ?? null)}, p99 ×${ratio(p?.p99Ms ?? null, n?.p99Ms ?? null)}${caveats([a, n, p].filter((r) => r !== undefined))}`,
    )
  }
  return verdicts
}

/**
 * `--rejudge broadcast ticker-5000 …`: the table, the verdicts and the markdown again from saved
 * rows (`<name>.json`), under the header of the run that measured them; nothing is measured.
 */
function rejudge(name: string): void {
  const saved = JSON.parse(readFileSync(`${RESULTS}${name}.json`, 'utf8')) as {
    header: string
    data: PeerRow[]
  }
  const rows = saved.data
  const lines = [PEER_COLUMNS, ...rows.map(peerLine)]
  const verdicts = name.startsWith('ticker') ? tickerVerdicts(rows) : broadcastVerdicts(rows)
  for (const text of [...lines, '', ...verdicts]) console.log(text)
  report(name, rows, lines, verdicts, saved.header)
}

const runners: Record<string, () => Promise<void>> = { broadcast, ticker }
if (args.includes('--rejudge')) {
  for (const name of selected) rejudge(name)
  process.exit(0)
}
console.log(header)
for (const workload of selected) {
  const run = runners[workload]
  if (run === undefined) throw new Error(`unknown workload ${workload}: broadcast, ticker`)
  console.log(`\n== ${workload}`)
  await run()
}
