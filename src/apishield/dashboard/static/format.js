// Numbers and times as the console shows them. Times are event time (the traffic's own clock),
// shown in UTC so that they match the logs they came from.

const DASH = "–";
const INTEGER = new Intl.NumberFormat("en-US");
const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const SEVERITIES = ["critical", "high", "medium", "low", "info"];
export const THREAT_LEVELS = ["low", "medium", "high"];
export const STATES = ["documented", "shadow", "undocumented", "zombie", "unused"];

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

export function num(value) {
  return isNumber(value) ? INTEGER.format(value) : DASH;
}

export function compact(value) {
  return isNumber(value) ? COMPACT.format(value) : DASH;
}

export function percent(share, digits = 0) {
  return isNumber(share) ? `${(share * 100).toFixed(digits)}%` : DASH;
}

export function ms(value) {
  if (!isNumber(value)) return DASH;
  return value < 10 ? `${value.toFixed(1)} ms` : `${INTEGER.format(Math.round(value))} ms`;
}

/** `2026-01-05 14:03:07` (UTC) for Unix seconds. */
export function time(seconds) {
  if (!isNumber(seconds) || seconds <= 0) return DASH;
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ");
}

/** `14:03` (UTC), with the day when `withDay`. */
export function clock(seconds, withDay = false) {
  const iso = new Date(seconds * 1000).toISOString();
  return withDay ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** `1 incident`, `3 incidents`. */
export function plural(count, noun) {
  return `${num(count)} ${noun}${count === 1 ? "" : "s"}`;
}

/** `3 h 12 min`, `45 s`. */
export function duration(seconds) {
  if (!isNumber(seconds) || seconds < 0) return DASH;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/** A block's end: null is for good; seconds on the guards' clock otherwise. The server lists
 * only blocks in force, so an end already past on `now` (the browser's clock unless the server
 * says) means the guards run on another clock, as `apishield demo`'s accelerated one: the time
 * is shown without a countdown rather than as expired. */
export function until(seconds, now = Date.now() / 1000) {
  if (seconds === null || seconds === undefined) return "for good";
  const left = seconds - now;
  return left > 0 ? `${time(seconds)} UTC (in ${duration(left)})` : `${time(seconds)} UTC`;
}

/** Entries of a `{key: count}` object, largest first. */
export function counts(object) {
  return Object.entries(object ?? {})
    .filter(([, n]) => isNumber(n))
    .sort((a, b) => b[1] - a[1]);
}

export function sum(values) {
  return values.reduce((total, n) => total + (isNumber(n) ? n : 0), 0);
}
