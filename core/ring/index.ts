/**
 * SharedArrayBuffer rings between the exchange's threads (see docs/ring.md):
 * MpscRing carries commands from gateway workers to the matcher, SpmcRing carries
 * events from the matcher to the journal, gateways and snapshot writer.
 */
export {
  CACHE_LINE_BYTES, CACHE_LINE_INT32, CAPACITY_MAX, CAPACITY_MIN, RECORD_WORDS_MAX, RING_BYTES_MAX,
  RingError,
} from './sequence';
export type { RingErrorCode } from './sequence';
export {
  AsyncBlockingWait, BLOCK_SLICE_MS_DEFAULT, BLOCK_SLICE_MS_MAX, BlockingWait, BusySpinWait, SPIN_ITERATIONS_DEFAULT,
  SPIN_ITERATIONS_MAX, SpinThenBlockWait, defaultWaitStrategy,
} from './wait-strategy';
export type { AsyncWaitStrategy, BlockingWaitOptions, SpinThenBlockWaitOptions, WaitStrategy } from './wait-strategy';
export { MpscRing, RING_FULL } from './mpsc-ring';
export type { MpscCreateOptions, MpscRingOptions, RecordHandler } from './mpsc-ring';
export { CONSUMER_COUNT_MAX, SpmcConsumer, SpmcRing } from './spmc-ring';
export type { SpmcCreateOptions, SpmcRingOptions } from './spmc-ring';
