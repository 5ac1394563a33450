/**
 * The life of a customer's credentials after sign-up: password reset and e-mail
 * verification by single-use, expiring tokens sent by mail (gateway/broker/outbox.ts),
 * and two-factor authentication with TOTP (gateway/broker/totp.ts).
 * Tokens are 256-bit random strings; broker.db keeps only their SHA-256, one live
 * token per user and purpose, and using one is a single statement (it cannot be used
 * twice, even by two requests at once). The HTTP layer (http-api.ts) adds the
 * failed-login limits for wrong tokens.
 */
import type { Broker } from './broker';
import { BrokerError } from './broker';
import { FailureLimiter, hashPassword, newToken, tokenHash } from './security';
import { base32Decode, matchTotp, newTotpSecret, otpauthUri } from './totp';
import type { UserRow } from './store';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;
/** Issuer shown by authenticator apps. */
export const TOTP_ISSUER = 'Broker';
/** Steps accepted either side of now (30 s each): clock drift and the time to type. */
export const TOTP_WINDOW = 1;

function fail(status: number, code: string, message: string, details: Record<string, unknown> = {}): never {
  throw new BrokerError(status, code, message, details);
}

/** The password rule of sign-up and reset. */
export function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    fail(400, 'BROKER_VALIDATION', `password must be ${PASSWORD_MIN}-${PASSWORD_MAX} characters`, { field: 'password' });
  }
  return password;
}

/** A TOTP code as sent by a client: six digits, else BROKER_VALIDATION. */
export function checkCode(code: unknown): string {
  if (typeof code !== 'string' || !/^\d{6}$/.test(code)) fail(400, 'BROKER_VALIDATION', 'code is the 6-digit code of your authenticator app', { field: 'code' });
  return code;
}

/** A token as sent by a client: a string of the right shape, else BROKER_VALIDATION. */
export function checkToken(token: unknown): string {
  if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) fail(400, 'BROKER_VALIDATION', 'token is the code from the mail', { field: 'token' });
  return token;
}

export class Credentials {
  /** Mails requested per address and per IP within the login window (password reset and verification resends). */
  private readonly mailsPerEmail: FailureLimiter;
  private readonly mailsPerIp: FailureLimiter;

  constructor(private readonly broker: Broker) {
    const o = broker.options;
    this.mailsPerEmail = new FailureLimiter(o.mailsPerEmail, o.loginWindowMs);
    this.mailsPerIp = new FailureLimiter(o.mailsPerIp, o.loginWindowMs);
  }

  sweep(now: number): void {
    this.mailsPerEmail.sweep(now);
    this.mailsPerIp.sweep(now);
    this.broker.store!.deleteStaleEmailTokens(now);
  }

  private link(fragment: string): string {
    const base = this.broker.options.publicUrl || `http://${this.broker.config.host}:${this.broker.port}`;
    return `${base.replace(/\/$/, '')}/#${fragment}`;
  }

  /** Counts one mail for the address and the IP; BROKER_MAIL_RATE_LIMITED beyond the limits. */
  private takeMail(email: string, ip: string, now: number): void {
    const blocked = Math.max(this.mailsPerEmail.blockedFor(email, now), this.mailsPerIp.blockedFor(ip, now));
    if (blocked > 0) fail(429, 'BROKER_MAIL_RATE_LIMITED', 'too many mails requested; try again later', { retryAfterMs: blocked });
    this.mailsPerEmail.fail(email, now);
    this.mailsPerIp.fail(ip, now);
  }

  /**
   * Mails a reset link if the address has an account. The caller answers the same
   * either way, so the endpoint does not tell who has an account.
   */
  requestPasswordReset(email: string, ip: string, now: number): void {
    this.takeMail(email, ip, now);
    const store = this.broker.store!;
    const user = store.userByEmail(email);
    if (user === undefined) return;
    const token = newToken();
    const ttl = this.broker.options.resetTokenTtlMs;
    store.createEmailToken(user.id, 'reset', tokenHash(token), now, now + ttl);
    this.broker.mailer!.send({
      to: user.email, kind: 'password-reset', subject: 'Reset your broker password',
      text: [
        'Hello,', '',
        `someone (hopefully you) asked to reset the password of the broker account ${user.email}.`,
        `Open this link within ${Math.round(ttl / 60_000)} minutes to choose a new one:`, '',
        this.link(`reset=${token}`), '',
        `or enter this code: ${token}`, '',
        'The link works once and logs out every session of the account.',
        'If you did not ask for it, ignore this mail: your password stays as it is.',
      ].join('\n'),
    }, now);
  }

  /**
   * Sets a new password with a reset token: the token is used, every session of the
   * user ends, and the address counts as verified (the mail reached its owner).
   * Returns the user, or BROKER_TOKEN_INVALID (wrong, used or expired).
   */
  async resetPassword(token: string, password: string, now: number): Promise<UserRow> {
    const { hash, salt } = await hashPassword(checkPassword(password));
    const store = this.broker.store!;
    const userId = store.db.transaction(() => {
      const id = store.useEmailToken(tokenHash(token), 'reset', now);
      if (id === undefined) return undefined;
      store.setPassword(id, hash, salt);
      store.deleteSessionsOf(id);
      store.setEmailVerified(id, now);
      return id;
    })();
    if (userId === undefined) fail(400, 'BROKER_TOKEN_INVALID', 'this reset link is wrong, used or expired; ask for a new one');
    return store.user(userId)!;
  }

  /** Mails a verification link (at sign-up, and on request while unverified). */
  sendVerification(user: UserRow, now: number): void {
    const token = newToken();
    const ttl = this.broker.options.verifyTokenTtlMs;
    this.broker.store!.createEmailToken(user.id, 'verify', tokenHash(token), now, now + ttl);
    this.broker.mailer!.send({
      to: user.email, kind: 'email-verification', subject: 'Confirm your e-mail address',
      text: [
        'Hello,', '',
        `please confirm that ${user.email} is your address for the broker by opening this link within ${Math.round(ttl / 3_600_000)} hours:`, '',
        this.link(`verify=${token}`), '',
        `or enter this code: ${token}`,
      ].join('\n'),
    }, now);
  }

  /** A new verification mail for a logged-in user; false (no mail) if the address is verified already. */
  requestVerification(user: UserRow, ip: string, now: number): boolean {
    if (user.email_verified_at !== null) return false;
    this.takeMail(user.email, ip, now);
    this.sendVerification(user, now);
    return true;
  }

  /** Marks the address of the token's user verified; BROKER_TOKEN_INVALID if wrong, used or expired. */
  verifyEmail(token: string, now: number): UserRow {
    const store = this.broker.store!;
    const userId = store.useEmailToken(tokenHash(token), 'verify', now);
    if (userId === undefined) fail(400, 'BROKER_TOKEN_INVALID', 'this verification link is wrong, used or expired; ask for a new one');
    store.setEmailVerified(userId, now);
    return store.user(userId)!;
  }

  // ------------------------------------------------------------ two-factor authentication (TOTP)

  /** A new secret for the user (replacing one not confirmed yet); BROKER_2FA_STATE if 2FA is on. */
  enrollTotp(user: UserRow): { secret: string; uri: string } {
    if (user.totp_enabled === 1) fail(409, 'BROKER_2FA_STATE', 'two-factor authentication is on; disable it first');
    const secret = newTotpSecret();
    this.broker.store!.setTotp(user.id, secret, false);
    return { secret, uri: otpauthUri(TOTP_ISSUER, user.email, secret) };
  }

  /** Turns 2FA on with a first code from the app (proof the secret was stored). */
  confirmTotp(user: UserRow, code: string, now: number): void {
    if (user.totp_enabled === 1 || user.totp_secret === null) fail(409, 'BROKER_2FA_STATE', user.totp_enabled === 1 ? 'two-factor authentication is on already' : 'enroll first');
    const step = matchTotp(base32Decode(user.totp_secret), code, now, TOTP_WINDOW);
    if (step === undefined) fail(400, 'BROKER_2FA_INVALID', 'wrong code (check the time of your device)');
    const store = this.broker.store!;
    store.setTotp(user.id, user.totp_secret, true);
    store.useTotpStep(user.id, step);
  }

  /** Turns 2FA off with a current code. */
  disableTotp(user: UserRow, code: string, now: number): void {
    if (user.totp_enabled !== 1) fail(409, 'BROKER_2FA_STATE', 'two-factor authentication is off');
    this.checkTotp(user, code, now);
    this.broker.store!.setTotp(user.id, null, false);
  }

  /**
   * A code for a user with 2FA on: valid in the window and after the last accepted
   * step (RFC 6238 §5.2: a code is accepted once), else BROKER_2FA_INVALID.
   */
  checkTotp(user: UserRow, code: string, now: number): void {
    const step = user.totp_secret === null ? undefined : matchTotp(base32Decode(user.totp_secret), code, now, TOTP_WINDOW);
    if (step === undefined || !this.broker.store!.useTotpStep(user.id, step)) fail(401, 'BROKER_2FA_INVALID', 'wrong or already used code');
  }
}
