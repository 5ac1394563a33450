/**
 * Which API keys an event is delivered to, and each key's numbered message stream.
 *
 * Routing is a pure function of the event and the static key configuration
 * (keyId → account): an event goes to the key named by its origin (command-stamp.ts) and to
 * every key of every account it names (account, makerAccount, takerAccount). A gateway
 * routes only to the keys it serves (keyId mod gatewayCount). Every core event is an
 * application message (ServerTemplates has one sequenced template per event and no
 * other sequenced template: asserted below), and nothing else is numbered: Reject,
 * query answers, heartbeats and session messages are unsequenced.
 *
 * So a key's server sequence n is "the n-th journaled event routed to the key", the
 * same in every run over the same journal: at start the gateway counts each key's
 * messages by routing the journal from event 1 (sequence-scan.ts), then numbers live
 * events from exactly the next one on. Each key keeps a sparse, bounded index (one
 * entry per SEQUENCE_INDEX_STRIDE messages: server sequence → event sequence) from
 * which a replay older than the in-memory history is read back from the journal
 * (journal-replay.ts).
 *
 * Changing a key's account renumbers that key's history; give the account a new key
 * instead (docs/protocol.md, "Sequence numbers, retransmission, replay").
 */
import { EventHeader, eventByCode } from '../../core/schema';
import { ServerTemplates } from '../protocol/wire-schema';
import type { KeySequences } from '../session/session-state';
import type { ReplayHistory } from './replay-history';
import { originKeyId } from './command-stamp';

/** One index entry per this many messages of a key. */
export const SEQUENCE_INDEX_STRIDE = 1024;
/**
 * Entries kept per key (a ring beyond it): a replay reaches the key's newest
 * STRIDE × ENTRIES_MAX = 16,777,216 messages; older ones are REPLAY_UNAVAILABLE.
 * At most 128 KiB per key, grown by doubling from SEQUENCE_INDEX_ENTRIES_INITIAL.
 */
export const SEQUENCE_INDEX_ENTRIES_MAX = 16_384;
export const SEQUENCE_INDEX_ENTRIES_INITIAL = 16;

/** Record words of each event that name an account (account, makerAccount, takerAccount); none for events that name none. */
const ACCOUNT_WORDS: readonly (readonly number[])[] = eventByCode.map((spec) =>
  spec === undefined ? [] : spec.fields.filter((f) => f.name === 'account' || f.name === 'makerAccount' || f.name === 'takerAccount').map((f) => f.word));

/** Event codes delivered to clients: those with a server template. */
const ROUTED = new Uint8Array(256);
for (const template of ServerTemplates.templates) {
  if (template.sequenced && template.coreCode === 0) {
    throw new Error(`key-routing: ${template.name} is sequenced but not a core event; only journaled events may take a server sequence`);
  }
  if (template.coreCode !== 0) ROUTED[template.coreCode] = 1;
}

/**
 * A key's sparse index: entry c holds the event sequence of the key's message
 * c × STRIDE + 1. Preallocated small, doubled as the key's stream grows, a ring once
 * ENTRIES_MAX is reached (the oldest entries are forgotten).
 */
export class SequenceIndex {
  private entries: Float64Array;
  /** Entries ever added (entry c is held while c >= count - capacity). */
  count = 0;

  constructor(readonly capacity = SEQUENCE_INDEX_ENTRIES_MAX) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`sequence index: capacity must be a positive integer, got ${capacity}`);
    this.entries = new Float64Array(Math.min(SEQUENCE_INDEX_ENTRIES_INITIAL, capacity));
  }

  /** Records that the key's message count × STRIDE + 1 is event `eventSequence`. */
  add(eventSequence: number): void {
    const c = this.count;
    if (c === this.entries.length && c < this.capacity) {
      const grown = new Float64Array(Math.min(this.capacity, c * 2));
      grown.set(this.entries);
      this.entries = grown;
    }
    if (c > 0 && eventSequence <= this.entries[(c - 1) % this.entries.length]) {
      throw new RangeError(`sequence index: event ${eventSequence} is not after the previous entry`);
    }
    this.entries[c % this.entries.length] = eventSequence;
    this.count = c + 1;
  }

  /** Oldest entry still held. */
  get firstHeld(): number {
    return Math.max(0, this.count - this.entries.length);
  }

  /** The entry at or before server sequence `sequence`: its number c (message c × STRIDE + 1), or -1 when forgotten or never added. */
  entryFor(sequence: number): number {
    const c = Math.floor((sequence - 1) / SEQUENCE_INDEX_STRIDE);
    return c >= this.firstHeld && c < this.count ? c : -1;
  }

  /** Event sequence of entry c (held: see entryFor). */
  eventSequence(c: number): number {
    return this.entries[c % this.entries.length];
  }

  /** The held entries, oldest first, and how many were ever added (a checkpoint). */
  save(): { count: number; held: Float64Array } {
    const held = new Float64Array(this.count - this.firstHeld);
    for (let c = this.firstHeld; c < this.count; c++) held[c - this.firstHeld] = this.eventSequence(c);
    return { count: this.count, held };
  }

  /** Back to a saved state (this index must be fresh). */
  restore(saved: { count: number; held: ArrayLike<number> }): void {
    if (this.count !== 0) throw new Error('sequence index: restore into a used index');
    if (!Number.isSafeInteger(saved.count) || saved.held.length > saved.count || saved.held.length > this.capacity) throw new RangeError('sequence index: a saved state that does not fit');
    let size = this.entries.length;
    while (size < saved.held.length) size *= 2;
    this.entries = new Float64Array(Math.min(this.capacity, Math.max(size, this.entries.length)));
    const first = saved.count - saved.held.length;
    for (let i = 0; i < saved.held.length; i++) this.entries[(first + i) % this.entries.length] = saved.held[i]!;
    this.count = saved.count;
  }
}

/** One API key served by this gateway: its counters (shared with its SessionRecord), index and recent bytes. */
export class KeyStream implements KeySequences {
  nextServerSequence = 1;
  lastClientSequence = 0;
  readonly index = new SequenceIndex();
  /** Recent wire bytes, from the key's first logon since start (null before). */
  history: ReplayHistory | null = null;
  /** KeyRouting pass that last chose this stream (de-duplicates keys named twice by one event). */
  routedPass = 0;

  constructor(readonly keyId: number, readonly account: number) {}

  /** Numbers the key's next message, event `eventSequence`: returns its server sequence. */
  take(eventSequence: number): number {
    const sequence = this.nextServerSequence++;
    if ((sequence - 1) % SEQUENCE_INDEX_STRIDE === 0) this.index.add(eventSequence);
    return sequence;
  }
}

export interface RoutedKey {
  readonly keyId: number;
  /** 0: a key without an account (admin, back office) gets only what its own commands caused. */
  readonly account: number;
}

export class KeyRouting {
  /** The keys of the last route() call, in recipients[0 .. its result); never shrinks (no allocation per event). */
  readonly recipients: KeyStream[] = [];
  readonly streams: readonly KeyStream[];
  private readonly byKeyId = new Map<number, KeyStream>();
  private readonly byAccount = new Map<number, KeyStream[]>();
  private pass = 0;

  /** `keys`: every configured key; `serves(keyId)`: whether this gateway serves it. */
  constructor(keys: readonly RoutedKey[], serves: (keyId: number) => boolean) {
    const streams: KeyStream[] = [];
    for (const key of keys) {
      if (!serves(key.keyId)) continue;
      if (this.byKeyId.has(key.keyId)) throw new RangeError(`key routing: key ${key.keyId} configured twice`);
      const stream = new KeyStream(key.keyId, key.account);
      streams.push(stream);
      this.byKeyId.set(key.keyId, stream);
      if (key.account === 0) continue;
      const list = this.byAccount.get(key.account);
      if (list === undefined) this.byAccount.set(key.account, [stream]);
      else list.push(stream);
    }
    this.streams = streams;
  }

  stream(keyId: number): KeyStream | undefined {
    return this.byKeyId.get(keyId);
  }

  /** Fills `recipients` with the served keys the event at `offset` goes to; returns how many. Allocation-free. */
  route(words: Float64Array, offset: number): number {
    const code = words[offset + EventHeader.type];
    if (ROUTED[code] !== 1) return 0;
    const pass = ++this.pass;
    let n = 0;
    const origin = this.byKeyId.get(originKeyId(words[offset + EventHeader.origin]));
    if (origin !== undefined) {
      origin.routedPass = pass;
      n = this.put(n, origin);
    }
    const accountWords = ACCOUNT_WORDS[code];
    for (let i = 0; i < accountWords.length; i++) {
      const account = words[offset + accountWords[i]];
      if (account === 0) continue;
      const list = this.byAccount.get(account);
      if (list === undefined) continue;
      for (let k = 0; k < list.length; k++) {
        const stream = list[k];
        if (stream.routedPass === pass) continue;
        stream.routedPass = pass;
        n = this.put(n, stream);
      }
    }
    return n;
  }

  private put(n: number, stream: KeyStream): number {
    if (n === this.recipients.length) this.recipients.push(stream); // a wider fan-out than ever before
    else this.recipients[n] = stream;
    return n + 1;
  }

  /** Whether the event at `offset` goes to `key`: the same rule as route(), for one key (journal replay). */
  static routes(words: Float64Array, offset: number, key: RoutedKey): boolean {
    const code = words[offset + EventHeader.type];
    if (ROUTED[code] !== 1) return false;
    if (originKeyId(words[offset + EventHeader.origin]) === key.keyId) return true;
    if (key.account === 0) return false;
    const accountWords = ACCOUNT_WORDS[code];
    for (let i = 0; i < accountWords.length; i++) if (words[offset + accountWords[i]] === key.account) return true;
    return false;
  }
}
