/**
 * Where the matcher thread cuts its state images: one reusable SharedArrayBuffer.
 *
 * Why: a fresh 50 MB buffer per snapshot costs the matcher ~25 ms (zero-fill and page
 * faults: bench:recovery "alloc_memcpy") while copying into warm memory costs ~3 ms
 * ("memcpy_reused"); the matcher is stalled for the whole cut, so this is latency every
 * order in flight pays. The arena is shared, not transferred, so the supervisor and the
 * snapshot writer read it in place; the control block's imageArenaBusy flag says they
 * still do. A cut requested while the arena is busy (never by the single-flight snapshot
 * scheduler, but possible for any other caller) falls back to a fresh transferable buffer,
 * so correctness never depends on the flag being cleared.
 */
import { ControlBlock } from './control-block';

/** Headroom when the arena grows, so a slowly growing book does not reallocate every cut. */
export const IMAGE_ARENA_GROWTH = 1.25;

export class ImageArena {
  private arena: SharedArrayBuffer | null = null;

  constructor(private readonly control: ControlBlock) {}

  /** size bytes to cut into: a view of the arena (marked busy) or, if it is busy, a fresh buffer. */
  take(size: number): Uint8Array {
    if (this.control.imageArenaBusy) return new Uint8Array(size);
    if (this.arena === null || this.arena.byteLength < size) {
      this.arena = new SharedArrayBuffer(Math.ceil(size * IMAGE_ARENA_GROWTH / 8) * 8);
    }
    this.control.imageArenaBusy = true;
    return new Uint8Array(this.arena, 0, size);
  }
}
