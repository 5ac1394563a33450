/** The journal layer's public surface. */
export * from './journal-record';
export * from './journal';
export {
  decodeRecord, encodeRecord, encodedRecordBytesMax, HASH_FIELD_BYTES, RecordWriter, RECORD_BYTES_MAX,
} from './record-codec';
export * from './hash-chain';
export * from './sqlite-journal';
export * from './eventstore-journal';
export * from './archive';
