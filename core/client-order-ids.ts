/**
 * Duplicate client order id detection for one trading day, sized for speed.
 *
 * Clients number their orders upwards, so per account we keep the highest id used
 * today and a ring bitmap of the CLIENT_ORDER_ID_BITMAP_BITS ids just below it:
 * checking and remembering such an id touches one cache line of that account. An
 * id that arrives further below the highest (out of order) goes into a bounded
 * FIFO set shared by all accounts.
 *
 * "Still remembered" therefore means: every id within CLIENT_ORDER_ID_BITMAP_BITS
 * of the account's highest id today, and the most recent `windowCapacity` ids that
 * arrived below that range. EndOfDay forgets everything.
 */
import { RecentKeyWindow } from './id-table';
import type { ImagePart } from './state-image';

export const CLIENT_ORDER_ID_BITMAP_BITS = 1024;
const WORDS_PER_ACCOUNT = CLIENT_ORDER_ID_BITMAP_BITS / 32;
/** Client order ids are u32, accounts < 2^20: (account, id) packs into one safe integer. */
export const CLIENT_ORDER_ID_LIMIT = 2 ** 32;

export class ClientOrderIds {
  /** Highest id each account used today (0 = none). */
  readonly highest: Float64Array;
  readonly bits: Int32Array;
  readonly older: RecentKeyWindow;
  /** One past the highest account id that used an id today (snapshots copy below it). */
  accountHighWater = 0;

  constructor(maxAccounts: number, windowCapacity: number) {
    this.highest = new Float64Array(maxAccounts + 1);
    this.bits = new Int32Array((maxAccounts + 1) * WORDS_PER_ACCOUNT);
    this.older = new RecentKeyWindow(windowCapacity);
  }

  has(account: number, id: number): boolean {
    const highest = this.highest[account];
    if (id > highest) return false;
    if (id > highest - CLIENT_ORDER_ID_BITMAP_BITS) {
      const bit = id % CLIENT_ORDER_ID_BITMAP_BITS;
      return (this.bits[account * WORDS_PER_ACCOUNT + (bit >>> 5)] & (1 << (bit & 31))) !== 0;
    }
    return this.older.has(account * CLIENT_ORDER_ID_LIMIT + id);
  }

  /** Remembers an id known not to be remembered yet. */
  add(account: number, id: number): void {
    const highest = this.highest[account];
    const base = account * WORDS_PER_ACCOUNT;
    if (id > highest) {
      // The window slides up: bits of ids (highest, id] now stand for those ids, not older ones.
      if (id - highest >= CLIENT_ORDER_ID_BITMAP_BITS) this.bits.fill(0, base, base + WORDS_PER_ACCOUNT);
      else this.clearBits(base, (highest + 1) % CLIENT_ORDER_ID_BITMAP_BITS, id - highest - 1);
      this.highest[account] = id;
      if (account >= this.accountHighWater) this.accountHighWater = account + 1;
    } else if (id <= highest - CLIENT_ORDER_ID_BITMAP_BITS) {
      this.older.add(account * CLIENT_ORDER_ID_LIMIT + id);
      return;
    }
    const bit = id % CLIENT_ORDER_ID_BITMAP_BITS;
    this.bits[base + (bit >>> 5)] |= 1 << (bit & 31);
  }

  /** Clears `count` (< BITS) consecutive ring bits starting at `from`, wrapping at the end of the ring. */
  private clearBits(base: number, from: number, count: number): void {
    const first = Math.min(count, CLIENT_ORDER_ID_BITMAP_BITS - from);
    this.clearRange(base, from, first);
    if (count > first) this.clearRange(base, 0, count - first);
  }

  /** Clears bits [from, from + count) of one account's ring (no wrap): masks for the end words, zero fill between. */
  private clearRange(base: number, from: number, count: number): void {
    if (count <= 0) return;
    const last = from + count - 1;
    const firstWord = base + (from >>> 5);
    const lastWord = base + (last >>> 5);
    const low = (1 << (from & 31)) - 1; // bits below `from` in its word survive
    const high = ~((2 << (last & 31)) - 1); // bits above `last` in its word survive (2 << 31 wraps to 0: all cleared)
    if (firstWord === lastWord) {
      this.bits[firstWord] &= low | high;
      return;
    }
    this.bits[firstWord] &= low;
    if (lastWord > firstWord + 1) this.bits.fill(0, firstWord + 1, lastWord);
    this.bits[lastWord] &= high;
  }

  clear(): void {
    this.highest.fill(0, 0, this.accountHighWater);
    this.bits.fill(0, 0, this.accountHighWater * WORDS_PER_ACCOUNT);
    this.older.clear();
    this.accountHighWater = 0;
  }

  imageParts(): ImagePart[] {
    return [
      { name: 'clientOrderIds.highest', array: this.highest, length: this.accountHighWater },
      { name: 'clientOrderIds.bits', array: this.bits, length: this.accountHighWater * WORDS_PER_ACCOUNT },
      { name: 'clientOrderIds.older', array: this.older.ring, length: this.older.written },
    ];
  }

  imageScalars(): number[] {
    return [this.accountHighWater, this.older.head, this.older.count, this.older.written];
  }

  restoreScalars(values: number[]): void {
    [this.accountHighWater, this.older.head, this.older.count, this.older.written] = values;
  }
}
