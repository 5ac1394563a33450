/**
 * gateway/broker/totp.ts against the RFCs: the HOTP values of RFC 4226 Appendix D,
 * the TOTP table of RFC 6238 Appendix B (SHA-1, SHA-256, SHA-512, 8 digits), base32
 * (RFC 4648 §10), the verification window and the otpauth URI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode, hotp, matchTotp, newTotpSecret, otpauthUri, totp, totpStep } from '../gateway/broker/totp';

const SEED_SHA1 = Buffer.from('12345678901234567890');
const SEED_SHA256 = Buffer.from('12345678901234567890123456789012');
const SEED_SHA512 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234');

test('HOTP: RFC 4226 Appendix D', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  assert.deepEqual(expected.map((_, counter) => hotp(SEED_SHA1, counter)), expected);
});

test('TOTP: RFC 6238 Appendix B (T0 = 0, X = 30, 8 digits)', () => {
  const table: Array<[number, string, string, string]> = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  for (const [seconds, sha1, sha256, sha512] of table) {
    const ms = seconds * 1000;
    assert.equal(totp(SEED_SHA1, ms, { digits: 8 }), sha1, `SHA1 at ${seconds}`);
    assert.equal(totp(SEED_SHA256, ms, { digits: 8, algorithm: 'sha256' }), sha256, `SHA256 at ${seconds}`);
    assert.equal(totp(SEED_SHA512, ms, { digits: 8, algorithm: 'sha512' }), sha512, `SHA512 at ${seconds}`);
  }
  assert.equal(totpStep(1111111109 * 1000), 0x23523ec);
  assert.equal(totpStep(20000000000 * 1000), 0x27bc86aa);
});

test('base32: RFC 4648 §10 vectors (unpadded), round trips, refuses other characters', () => {
  const vectors: Array<[string, string]> = [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']];
  for (const [plain, encoded] of vectors) {
    assert.equal(base32Encode(Buffer.from(plain)), encoded);
    assert.equal(base32Decode(encoded).toString(), plain);
    assert.equal(base32Decode(`${encoded.toLowerCase()}===`).toString(), plain, 'case and padding are ignored');
  }
  assert.equal(base32Encode(SEED_SHA1), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  const secret = newTotpSecret();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.equal(base32Encode(base32Decode(secret)), secret);
  assert.throws(() => base32Decode('MZ1W'), RangeError);
});

test('matchTotp: the step of a code within the window, nothing outside it', () => {
  const now = 1_700_000_000_000;
  const step = totpStep(now);
  assert.equal(matchTotp(SEED_SHA1, totp(SEED_SHA1, now), now), step);
  assert.equal(matchTotp(SEED_SHA1, totp(SEED_SHA1, now - 30_000), now), step - 1);
  assert.equal(matchTotp(SEED_SHA1, totp(SEED_SHA1, now + 30_000), now), step + 1);
  assert.equal(matchTotp(SEED_SHA1, totp(SEED_SHA1, now + 60_000), now), undefined);
  assert.equal(matchTotp(SEED_SHA1, totp(SEED_SHA1, now - 60_000), now, 2), step - 2);
  assert.equal(matchTotp(SEED_SHA1, '12345', now), undefined, 'wrong length');
  assert.equal(matchTotp(SEED_SHA256, totp(SEED_SHA1, now), now), undefined, 'another key');
});

test('otpauth URI', () => {
  assert.equal(otpauthUri('Broker', 'a@b.c', 'JBSWY3DPEHPK3PXP'), 'otpauth://totp/Broker:a%40b.c?secret=JBSWY3DPEHPK3PXP&issuer=Broker&algorithm=SHA1&digits=6&period=30');
});
