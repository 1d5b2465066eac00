/**
 * The intraday clock and its U-shapes (market-data.md §4.2).
 *
 * Sessions repeat: when one closes at 16:00 the next opens at once, and simulated time keeps
 * increasing (session k opens at 09:30 + k·6.5 h). A server left running never runs dry, and
 * times before 09:30 belong to the tail of the previous session, so the open-burst preset's
 * 09:29:30 start is continuous with what came before.
 */

import { SESSION_CLOSE_US, SESSION_OPEN_US } from './types.js'

export const SESSION_LENGTH_US = SESSION_CLOSE_US - SESSION_OPEN_US
export const SESSION_MINUTES = SESSION_LENGTH_US / 60_000_000
const US_PER_MINUTE = 60_000_000

/** Index of the session containing `simTimeUs` (0 for 09:30–16:00 of the first day, -1 before). */
export function sessionIndexAt(simTimeUs: number): number {
  return Math.floor((simTimeUs - SESSION_OPEN_US) / SESSION_LENGTH_US)
}

/** Simulated time at which session `index` opens. */
export function sessionOpenUs(index: number): number {
  return SESSION_OPEN_US + index * SESSION_LENGTH_US
}

/** Microseconds since the open of the session containing `simTimeUs`, in [0, 23.4e9). */
export function sinceOpenUs(simTimeUs: number): number {
  const offset = (simTimeUs - SESSION_OPEN_US) % SESSION_LENGTH_US
  return offset < 0 ? offset + SESSION_LENGTH_US : offset
}

/**
 * Activity multiplier m(τ) = 1 + 3·e^(−τ/15) + 3·e^(−(390−τ)/20), τ in minutes since the open:
 * about 4× midday at each bell, the first and last 15 minutes average about 3×.
 */
export function activityMultiplier(minutesSinceOpen: number): number {
  return (
    1 +
    3 * Math.exp(-minutesSinceOpen / 15) +
    3 * Math.exp(-(SESSION_MINUTES - minutesSinceOpen) / 20)
  )
}

/** m at a simulated time. */
export function activityAt(simTimeUs: number): number {
  return activityMultiplier(sinceOpenUs(simTimeUs) / US_PER_MINUTE)
}

/** ∫m over a session divided by its length: 495/390 ≈ 1.269 (the e^-26 and e^-19.5 terms kept). */
export const MEAN_ACTIVITY_MULTIPLIER =
  (SESSION_MINUTES +
    45 * (1 - Math.exp(-SESSION_MINUTES / 15)) +
    60 * (1 - Math.exp(-SESSION_MINUTES / 20))) /
  SESSION_MINUTES

/** The largest value m takes (at the bell). */
export const MAX_ACTIVITY_MULTIPLIER = activityMultiplier(0)

/**
 * An upper bound of m over [fromUs, toUs]. m is convex within a session, so its maximum there is
 * at an end; across a session boundary it is the bell's peak.
 */
export function maxActivityBetween(fromUs: number, toUs: number): number {
  if (sessionIndexAt(fromUs) !== sessionIndexAt(toUs)) return MAX_ACTIVITY_MULTIPLIER
  return Math.max(activityAt(fromUs), activityAt(toUs))
}

/** Spread widening after the open: 1 + 2·e^(−τ/10), τ in minutes since the open. */
export function spreadFactor(minutesSinceOpen: number): number {
  return 1 + 2 * Math.exp(-minutesSinceOpen / 10)
}

/** The spread factor at a simulated time. */
export function spreadFactorAt(simTimeUs: number): number {
  return spreadFactor(sinceOpenUs(simTimeUs) / US_PER_MINUTE)
}
