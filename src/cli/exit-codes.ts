/**
 * Exit codes, documented in the README (k6-style, so CI can gate on a run): 0 ok, 1 crash (or a
 * URL target that does not answer), 2 bad command line, options, scenario or result file,
 * 3 thresholds failed or the run was invalid or interrupted; a `run` stopped by a signal exits
 * 128 + its number, as a shell reports it (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
 */
export const EXIT = Object.freeze({ OK: 0, CRASH: 1, USAGE: 2, FAILED: 3 })
