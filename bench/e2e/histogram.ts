/**
 * HdrHistogram helpers for the end-to-end benchmark: microsecond values,
 * 3 significant digits, 1 µs .. 10 min, summaries and percentile curves.
 */
import * as hdr from 'hdr-histogram-js';
import type { CurvePoint, LatencySummary } from './types';

export type Histogram = hdr.Histogram;

/** 10 minutes in µs: a saturated step's lower-bound latencies still fit. */
const HIGHEST_US = 600_000_000;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3, bitBucketSize: 32, useWebAssembly: false });
}

/** Records a latency in µs (clamped to 1 .. HIGHEST_US so a bad sample never throws). */
export function record(h: Histogram, micros: number): void {
  h.recordValue(micros < 1 ? 1 : micros > HIGHEST_US ? HIGHEST_US : Math.round(micros));
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decode(base64: string): Histogram {
  const h = newHistogram();
  h.add(hdr.decodeFromCompressedBase64(base64, 32, false));
  return h;
}

export function merge(encoded: string[]): Histogram {
  const h = newHistogram();
  for (const e of encoded) h.add(hdr.decodeFromCompressedBase64(e, 32, false));
  return h;
}

export function summarize(h: Histogram): LatencySummary {
  const empty = h.totalCount === 0;
  const at = (p: number) => (empty ? 0 : h.getValueAtPercentile(p));
  return {
    count: h.totalCount, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), p9999: at(99.99),
    max: empty ? 0 : h.maxValue, mean: empty ? 0 : Math.round(h.mean),
  };
}

/** Percentiles of the curve: evenly spaced on the 1/(1-p) axis the report draws. */
export const CURVE_PERCENTILES = [
  0, 10, 25, 50, 68.4, 75, 82.2, 90, 93.7, 96.8, 99, 99.37, 99.68, 99.9, 99.937, 99.968, 99.99, 99.9937, 99.9968, 99.999, 100,
];

export function curve(h: Histogram): CurvePoint[] {
  if (h.totalCount === 0) return [];
  return CURVE_PERCENTILES.map((p): CurvePoint => [p, p === 100 ? h.maxValue : h.getValueAtPercentile(p)]);
}

/** 1234 µs → "1.23 ms", 812 → "812 µs". */
export function formatMicros(us: number): string {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(2)} s`;
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 100_000 ? 0 : us >= 10_000 ? 1 : 2)} ms`;
  return `${Math.round(us)} µs`;
}
