/**
 * Periodic snapshots for the running exchange: on the supervisor's tick, the policy
 * (every N events and/or T seconds, on demand, at shutdown) decides; the matcher
 * cuts a state image at its next batch boundary (a memcpy of its typed arrays) and
 * transfers it here; the snapshot writer thread compresses, checksums and stores it
 * beside the journal once the journal hash at that sequence is known (durable).
 */
import type { Logger } from 'pino';
import { readJournalFile } from '../../journal/sqlite-journal';
import { SnapshotPolicy } from '../../snapshots/snapshot-policy';
import { SnapshotWriter } from '../../snapshots/snapshot-writer';
import type { ExchangeCore } from './exchange';

export interface SnapshotCadence {
  everyEvents: number;
  everySeconds: number;
  keep: number;
}

export class SnapshotScheduler {
  private readonly policy: SnapshotPolicy;
  private readonly writer: SnapshotWriter;
  private busy = false;
  /** When the newest snapshot was stored (epoch ms, 0 = none yet) and how long its cut-to-store took. */
  lastStoredAtMs = 0;
  lastDurationMs = 0;

  constructor(private readonly core: ExchangeCore, cadence: SnapshotCadence, private readonly log: Logger, startSequence: number) {
    this.policy = new SnapshotPolicy({ everyEvents: cadence.everyEvents, everyMillis: cadence.everySeconds * 1000, startSequence, startMillis: Date.now() });  // clock-ok: supervisor side, never inside the matcher
    this.writer = SnapshotWriter.start({ directory: core.snapshotDirectory, keep: cadence.keep });
  }

  /** Called on the supervisor's clock tick. */
  tick(): void {
    if (this.busy) return;
    const reason = this.policy.due(this.core.control.matchedSequence, Date.now());  // clock-ok: supervisor side, never inside the matcher
    if (reason !== null) void this.cut(reason);
  }

  /** Asks for a snapshot now (admin). */
  requestNow(): Promise<void> {
    this.policy.requestNow();
    return this.cut('demand');
  }

  /** At shutdown, once gateways stopped accepting: one last snapshot if anything happened. */
  async final(): Promise<void> {
    while (this.busy) await new Promise((r) => setTimeout(r, 10));  // clock-ok: supervisor side, never inside the matcher
    if (this.policy.dueAtShutdown(this.core.control.matchedSequence) !== null) await this.cut('shutdown');
  }

  async close(): Promise<void> {
    await this.writer.close();
  }

  private async cut(reason: string): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const began = Date.now();  // clock-ok: supervisor side, never inside the matcher
    let cutTaken = false;
    try {
      const image = await this.core.requestImage();
      cutTaken = true;
      const sequence = image.header.sequence;
      this.policy.cutTaken(sequence, Date.now());  // clock-ok: supervisor side, never inside the matcher
      const info = await this.writer.requestSnapshot(image, sequence, this.chainHashAt(sequence));
      this.core.control.snapshotSequence = sequence;
      this.lastStoredAtMs = Date.now();  // clock-ok: supervisor side, never inside the matcher
      this.lastDurationMs = this.lastStoredAtMs - began;
      this.log.info({ sequence, reason, storedBytes: info.storedBytes, imageBytes: info.imageBytes, encodeMs: Math.round(info.encodeMillis), storeMs: Math.round(info.storeMillis) }, 'snapshot stored');
    } catch (error) {
      this.log.error({ err: error as Error }, 'snapshot failed (the journal still holds everything; recovery replays more)');
    } finally {
      if (cutTaken) this.core.releaseImage(); // the writer has finished reading the image (or never will)
      this.busy = false;
    }
  }

  /** The journal hash of the record ending at `sequence`, once it is durable. */
  private async chainHashAt(sequence: number): Promise<Uint8Array> {
    if (sequence === 0) return new Uint8Array(32);
    await this.core.waitDurable(sequence);
    for await (const record of readJournalFile(this.core.journalPath, sequence)) {
      if (record.lastSequence !== sequence) throw new Error(`journal record containing ${sequence} ends at ${record.lastSequence}: not a command boundary`);
      return record.hash;
    }
    throw new Error(`sequence ${sequence} is not in the journal`);
  }
}
