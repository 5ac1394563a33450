/**
 * Which logon nonces a key has used, bounded per key, forgotten by age.
 *
 * A nonce only needs remembering while its signed timestamp could still pass the
 * clock-skew check: once timestamp < now - clockSkewMaxMicros a replay is refused for
 * skew anyway, so the entry is evicted. If a key's memory is still full, the oldest
 * entry is evicted and the key's replay floor rises to its timestamp: any later logon
 * whose timestamp is at or below the floor is refused as a replay. Memory stays
 * bounded and no replay window ever opens; the cost is that a logon arriving far
 * out of order after a burst of logons is refused (it can retry with a fresh timestamp).
 */

interface KeyNonces {
  nonces: number[];
  timestamps: number[];
  floorMicros: number;
}

export class NonceMemory {
  private readonly byKey = new Map<number, KeyNonces>();

  constructor(
    /** Entries kept per key before the oldest is evicted (raising the floor). */
    readonly noncesPerKeyMax: number,
    /** Entries older than this (relative to now) are forgotten. */
    readonly ageMaxMicros: number,
  ) {
    if (!Number.isSafeInteger(noncesPerKeyMax) || noncesPerKeyMax < 1) throw new RangeError(`NonceMemory: noncesPerKeyMax must be a positive integer, got ${noncesPerKeyMax}`);
    if (!Number.isSafeInteger(ageMaxMicros) || ageMaxMicros < 0) throw new RangeError(`NonceMemory: ageMaxMicros must be a non-negative integer, got ${ageMaxMicros}`);
  }

  /** True if (nonce, timestamp) would be a replay for this key. */
  isReplay(keyId: number, nonce: number, timestampMicros: number): boolean {
    const entry = this.byKey.get(keyId);
    if (entry === undefined) return false;
    return timestampMicros <= entry.floorMicros || entry.nonces.includes(nonce);
  }

  /** Remembers a nonce that was just accepted. */
  remember(keyId: number, nonce: number, timestampMicros: number, nowMicros: number): void {
    let entry = this.byKey.get(keyId);
    if (entry === undefined) {
      entry = { nonces: [], timestamps: [], floorMicros: -Infinity };
      this.byKey.set(keyId, entry);
    }
    this.evictOld(entry, nowMicros - this.ageMaxMicros);
    if (entry.nonces.length >= this.noncesPerKeyMax) this.evictOldest(entry);
    entry.nonces.push(nonce);
    entry.timestamps.push(timestampMicros);
  }

  /** Entries held for a key (tests, metrics). */
  count(keyId: number): number {
    return this.byKey.get(keyId)?.nonces.length ?? 0;
  }

  forget(keyId: number): void {
    this.byKey.delete(keyId);
  }

  private evictOld(entry: KeyNonces, cutoffMicros: number): void {
    let kept = 0;
    for (let i = 0; i < entry.nonces.length; i++) {
      if (entry.timestamps[i] >= cutoffMicros) {
        entry.nonces[kept] = entry.nonces[i];
        entry.timestamps[kept] = entry.timestamps[i];
        kept++;
      }
    }
    entry.nonces.length = kept;
    entry.timestamps.length = kept;
  }

  private evictOldest(entry: KeyNonces): void {
    let oldest = 0;
    for (let i = 1; i < entry.timestamps.length; i++) if (entry.timestamps[i] < entry.timestamps[oldest]) oldest = i;
    entry.floorMicros = Math.max(entry.floorMicros, entry.timestamps[oldest]);
    entry.nonces.splice(oldest, 1);
    entry.timestamps.splice(oldest, 1);
  }
}
