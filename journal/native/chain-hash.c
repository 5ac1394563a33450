/*
 * SHA-256 for the journal's hash chain without the per-call cost of node:crypto.
 *
 * crypto.hash('sha256', bytes) spends ~0.65 µs per call on a Buffer for the digest, the
 * algorithm lookup and a fresh EVP context; the hashing of a 200-byte record itself takes
 * ~0.1 µs (SHA-NI, ~2 GB/s). The journal hashes one record per command, so that overhead was
 * the floor of every writer and verifier. These functions hash into caller-owned memory with
 * the SHA256 of the OpenSSL that Node.js itself links and exports: the digest is the same
 * function, only the call is cheaper.
 *
 *   sha256Into(src, start, end, dst, dstAt)
 *     dst[dstAt .. dstAt+32) = SHA-256(src[start .. end))
 *
 *   chainDigest(state, body, start, end)
 *     state[32 .. 64) = SHA-256(state[0 .. 32) || body[start .. end)): one link of the chain,
 *     the head in the first half of a reused 64-byte state, the digest in the second.
 *
 *   chainSeal(bytes, bounds, count, head)
 *     For records i = 0..count-1 stored at bytes[bounds[2i] .. bounds[2i+1]) in record layout
 *     v1 (the record ends with two bin8 fields of 32 bytes: previousHash, then hash):
 *       previousHash field := head;
 *       head := SHA-256(head || record without its hash field);
 *       hash field := head.
 *     head (32 bytes) holds the chain head before the call and the last record's hash after.
 *
 *   chainVerify(bytes, bounds, count, head) -> index
 *     For each record (same layout rules, any version whose hash is the last field):
 *     computes SHA-256(head || record without its hash field) and compares it with the stored
 *     hash; returns the index of the first record whose stored hash differs (head is then the
 *     hash of the record before it), or count if every hash matched (head = the last hash).
 *     Checking sequences, previousHash fields and content stays in TypeScript.
 *
 * Every offset is checked against the array's length; a bad argument throws a TypeError or
 * RangeError, never reads outside the array.
 */
#include <node_api.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#define HASH_BYTES 32
#define HASH_FIELD_BYTES (2 + HASH_BYTES)
#define PREVIOUS_HASH_FROM_END (HASH_FIELD_BYTES + HASH_BYTES)

static int fail(napi_env env, const char* message, int range) {
  if (range) napi_throw_range_error(env, "ERR_CHAIN_HASH_RANGE", message);
  else napi_throw_type_error(env, "ERR_CHAIN_HASH_ARGUMENT", message);
  return 0;
}

/* The elements of a typed array argument of the expected type (a Buffer is a Uint8Array). */
static int typed_array_of(napi_env env, napi_value value, napi_typedarray_type expected, const char* expected_name, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, data, &buffer, &offset) != napi_ok || type != expected) {
    return fail(env, expected_name, 0);
  }
  return 1;
}

static int bytes_of(napi_env env, napi_value value, uint8_t** data, size_t* length) {
  return typed_array_of(env, value, napi_uint8_array, "expected a Uint8Array", (void**)data, length);
}

static int uint32_array_of(napi_env env, napi_value value, uint32_t** data, size_t* length) {
  return typed_array_of(env, value, napi_uint32_array, "expected a Uint32Array", (void**)data, length);
}

static int index_of(napi_env env, napi_value value, uint32_t* out) {
  if (napi_get_value_uint32(env, value, out) != napi_ok) return fail(env, "expected an unsigned 32-bit integer", 0);
  return 1;
}

static napi_value sha256_into(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint8_t *src, *dst;
  size_t src_length, dst_length;
  uint32_t start, end, dst_at;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) { fail(env, "sha256Into(src, start, end, dst, dstAt)", 0); return NULL; }
  if (!bytes_of(env, argv[0], &src, &src_length) || !index_of(env, argv[1], &start) || !index_of(env, argv[2], &end) ||
      !bytes_of(env, argv[3], &dst, &dst_length) || !index_of(env, argv[4], &dst_at)) return NULL;
  if (start > end || end > src_length) { fail(env, "sha256Into: start..end outside src", 1); return NULL; }
  if ((size_t)dst_at + HASH_BYTES > dst_length) { fail(env, "sha256Into: dstAt + 32 outside dst", 1); return NULL; }
  /* Not SHA256(): in OpenSSL 3 the one-shot fetches the algorithm on every call (~150 ns). */
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, src + start, end - start);
  SHA256_Final(dst + dst_at, &context);
  return NULL;
}

static napi_value chain_digest(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint8_t *state, *body;
  size_t state_length, body_length;
  uint32_t start, end;
  SHA256_CTX context;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) { fail(env, "chainDigest(state, body, start, end)", 0); return NULL; }
  if (!bytes_of(env, argv[0], &state, &state_length) || !bytes_of(env, argv[1], &body, &body_length) ||
      !index_of(env, argv[2], &start) || !index_of(env, argv[3], &end)) return NULL;
  if (state_length != 2 * HASH_BYTES) { fail(env, "chainDigest: state must be 64 bytes", 1); return NULL; }
  if (start > end || end > body_length) { fail(env, "chainDigest: start..end outside body", 1); return NULL; }
  SHA256_Init(&context);
  SHA256_Update(&context, state, HASH_BYTES);
  SHA256_Update(&context, body + start, end - start);
  SHA256_Final(state + HASH_BYTES, &context);
  return NULL;
}

/* Common argument checks of chainSeal / chainVerify. */
static int chain_arguments(napi_env env, napi_callback_info info, uint8_t** bytes, uint32_t** bounds, uint32_t* count, uint8_t** head) {
  size_t argc = 4;
  napi_value argv[4];
  size_t bytes_length, bounds_length, head_length;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return fail(env, "(bytes, bounds, count, head)", 0);
  if (!bytes_of(env, argv[0], bytes, &bytes_length) || !uint32_array_of(env, argv[1], bounds, &bounds_length) ||
      !index_of(env, argv[2], count) || !bytes_of(env, argv[3], head, &head_length)) return 0;
  if (head_length != HASH_BYTES) return fail(env, "head must be 32 bytes", 1);
  if ((size_t)*count * 2 > bounds_length) return fail(env, "count exceeds the bounds array", 1);
  for (uint32_t i = 0; i < *count; i++) {
    uint32_t start = (*bounds)[2 * i], end = (*bounds)[2 * i + 1];
    if (end > bytes_length || start > end || end - start < PREVIOUS_HASH_FROM_END) return fail(env, "a record's bounds lie outside bytes or are too short", 1);
  }
  return 1;
}

static napi_value chain_seal(napi_env env, napi_callback_info info) {
  uint8_t *bytes, *head;
  uint32_t *bounds, count;
  if (!chain_arguments(env, info, &bytes, &bounds, &count, &head)) return NULL;
  SHA256_CTX context;
  for (uint32_t i = 0; i < count; i++) {
    uint8_t* record = bytes + bounds[2 * i];
    uint8_t* end = bytes + bounds[2 * i + 1];
    memcpy(end - PREVIOUS_HASH_FROM_END, head, HASH_BYTES);
    SHA256_Init(&context);
    SHA256_Update(&context, head, HASH_BYTES);
    SHA256_Update(&context, record, (size_t)(end - HASH_FIELD_BYTES - record));
    SHA256_Final(head, &context);
    memcpy(end - HASH_BYTES, head, HASH_BYTES);
  }
  return NULL;
}

static napi_value chain_verify(napi_env env, napi_callback_info info) {
  uint8_t *bytes, *head;
  uint32_t *bounds, count, i;
  uint8_t digest[HASH_BYTES];
  napi_value result;
  if (!chain_arguments(env, info, &bytes, &bounds, &count, &head)) return NULL;
  SHA256_CTX context;
  for (i = 0; i < count; i++) {
    uint8_t* record = bytes + bounds[2 * i];
    uint8_t* end = bytes + bounds[2 * i + 1];
    SHA256_Init(&context);
    SHA256_Update(&context, head, HASH_BYTES);
    SHA256_Update(&context, record, (size_t)(end - HASH_FIELD_BYTES - record));
    SHA256_Final(digest, &context);
    if (memcmp(digest, end - HASH_BYTES, HASH_BYTES) != 0) break;
    memcpy(head, digest, HASH_BYTES);
  }
  napi_create_uint32(env, i, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    { "sha256Into", NULL, sha256_into, NULL, NULL, NULL, napi_enumerable, NULL },
    { "chainDigest", NULL, chain_digest, NULL, NULL, NULL, napi_enumerable, NULL },
    { "chainSeal", NULL, chain_seal, NULL, NULL, NULL, napi_enumerable, NULL },
    { "chainVerify", NULL, chain_verify, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
