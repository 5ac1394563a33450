/**
 * Duplicate client order id detection for one trading day, sized for speed.
 *
 * Clients number their orders upwards, so per account we keep the highest id used
 * today and a ring of bit words covering the CLIENT_ORDER_ID_BITMAP_BITS ids just
 * below it: checking and remembering such an id touches one word of that account
 * (and its tag). An id that arrives further below the highest (out of order) goes
 * into a bounded FIFO set shared by all accounts.
 *
 * "Still remembered" therefore means: every id within CLIENT_ORDER_ID_BITMAP_BITS
 * of the account's highest id today, and the most recent `windowCapacity` ids that
 * arrived below that range. EndOfDay forgets everything.
 *
 * Tagged words instead of clearing. Ids are grouped in blocks of 32 (block = id >>> 5);
 * block b lives in ring word b mod RING_WORDS, whose tag says which block its bits
 * currently stand for. A word whose tag is another block holds none of this block's
 * ids, so an id is remembered iff its word's tag is its block and its bit is set;
 * the first id of a block re-tags the word and zeroes it. Nothing is ever cleared
 * when the highest id jumps (clearing the skipped range was ~15% of the matcher's
 * time). The ring holds 64 blocks because the 1024 ids below the highest can span
 * 33 blocks, which must not share a word. Tags only grow: a word is re-tagged to a
 * block 64 higher only once the highest id is at least 2048 above the old block,
 * i.e. when every id of the old block is out of range anyway.
 */
import { RecentKeyWindow } from './id-table';
import type { ImagePart } from './state-image';

/** Ids just below an account's highest that are always remembered (module constant: see order-pool.ts). */
const BITMAP_BITS = 1024;
/** Ids per ring word (one Int32 of bits). */
const BLOCK_IDS = 32;
/** Ring words per account: a power of two, more than the 33 blocks a 1024-id range can touch. */
const RING_WORDS = 64;
/** Client order ids are u32, accounts < 2^20: (account, id) packs into one safe integer. */
const ID_LIMIT = 2 ** 32;
export { BITMAP_BITS as CLIENT_ORDER_ID_BITMAP_BITS, ID_LIMIT as CLIENT_ORDER_ID_LIMIT };

export class ClientOrderIds {
  /** Highest id each account used today (0 = none). */
  readonly highest: Float64Array;
  /** Per account RING_WORDS words: bit (id & 31) of word (block mod RING_WORDS) set = id used. */
  readonly bits: Int32Array;
  /** Per ring word, the block (id >>> 5) whose ids its bits stand for. */
  readonly tags: Int32Array;
  readonly older: RecentKeyWindow;
  /** One past the highest account id that used an id today (snapshots copy below it). */
  accountHighWater = 0;

  constructor(maxAccounts: number, windowCapacity: number) {
    this.highest = new Float64Array(maxAccounts + 1);
    this.bits = new Int32Array((maxAccounts + 1) * RING_WORDS);
    this.tags = new Int32Array((maxAccounts + 1) * RING_WORDS);
    this.older = new RecentKeyWindow(windowCapacity);
  }

  /** `id` is an integer in 1..CLIENT_ORDER_ID_LIMIT - 1 (the matcher validates it first). */
  has(account: number, id: number): boolean {
    const highest = this.highest[account];
    if (id > highest) return false;
    if (id > highest - BITMAP_BITS) {
      const block = id >>> 5;
      const word = account * RING_WORDS + (block & (RING_WORDS - 1));
      return this.tags[word] === block && (this.bits[word] & (1 << (id & (BLOCK_IDS - 1)))) !== 0;
    }
    return this.older.has(account * ID_LIMIT + id);
  }

  /** Remembers an id known not to be remembered yet. */
  add(account: number, id: number): void {
    const highest = this.highest[account];
    if (id > highest) {
      this.highest[account] = id;
      if (account >= this.accountHighWater) this.accountHighWater = account + 1;
    } else if (id <= highest - BITMAP_BITS) {
      this.older.add(account * ID_LIMIT + id);
      return;
    }
    const block = id >>> 5;
    const word = account * RING_WORDS + (block & (RING_WORDS - 1));
    const bit = 1 << (id & (BLOCK_IDS - 1));
    if (this.tags[word] === block) {
      this.bits[word] |= bit;
    } else {
      this.tags[word] = block;
      this.bits[word] = bit;
    }
  }

  clear(): void {
    this.highest.fill(0, 0, this.accountHighWater);
    this.bits.fill(0, 0, this.accountHighWater * RING_WORDS);
    this.tags.fill(0, 0, this.accountHighWater * RING_WORDS);
    this.older.clear();
    this.accountHighWater = 0;
  }

  imageParts(): ImagePart[] {
    return [
      { name: 'clientOrderIds.highest', array: this.highest, length: this.accountHighWater },
      { name: 'clientOrderIds.bits', array: this.bits, length: this.accountHighWater * RING_WORDS },
      { name: 'clientOrderIds.tags', array: this.tags, length: this.accountHighWater * RING_WORDS },
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
