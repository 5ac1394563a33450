/**
 * Mail the broker sends (password reset, e-mail verification) goes through one
 * `Mailer`. The shipped one is the development outbox: each mail is a row of the
 * `outbox` table in broker.db, read by the back office with
 * `GET /api/admin/outbox` or `exchange-admin broker-outbox`. Production passes its
 * own Mailer (SMTP, a mail API) to `brokerService`; it must not block or throw for a
 * delivery problem (queue and retry on its side): the API answers the same whether or
 * not an address exists, and a slow or failing mailer must not say which.
 */
import type { BrokerStore } from './store';

export type MailKind = 'password-reset' | 'email-verification';

export interface OutgoingMail {
  to: string;
  kind: MailKind;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: OutgoingMail, now: number): void;
}

/** The development mailer: broker.db's outbox table, the newest `kept` messages. */
export class OutboxMailer implements Mailer {
  constructor(private readonly store: BrokerStore, private readonly kept: number) {
    if (!Number.isSafeInteger(kept) || kept < 1) throw new RangeError(`outboxKept must be a positive integer, got ${kept}`);
  }

  send(mail: OutgoingMail, now: number): void {
    this.store.addOutbox(mail.to, mail.kind, mail.subject, mail.text, now, this.kept);
  }
}
