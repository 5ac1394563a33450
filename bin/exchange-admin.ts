#!/usr/bin/env node
/**
 * `exchange-admin`: the operator's CLI.
 *  - Process control over the supervisor's HTTP admin endpoints (bearer token):
 *    status, snapshot (now), stop (drain and stop).
 *  - Market and back-office commands over the order-entry protocol with an
 *    admin/back-office API key: instrument add/halt/resume, account
 *    open/approve/suspend/resume/close, deposit, withdraw. Each prints the event
 *    that answered it; a refusal exits with code 2 and names the reason.
 *  - The broker's development outbox (password-reset and verification mails) over
 *    the broker's back-office API (same bearer token).
 */
import { Command } from 'commander';
import { ExchangeClient, ServerMessage } from '../gateway/client/exchange-client';
import { AccountAction, AccountType, RejectReason, nameOf } from '../core/codes';
import { packSymbol } from '../core/schema';
import { GatewayReject } from '../gateway/protocol/reject-codes';
import { defaultConfig } from '../core/runtime/config';

const defaults = defaultConfig();
const ops = defaults.demoAccounts.find((a) => a.permissions.includes('admin'))!;
const program = new Command('exchange-admin')
  .option('--http <url>', 'supervisor HTTP base URL', `http://127.0.0.1:${defaults.httpPort}`)
  .option('--token <token>', 'admin bearer token (or EXCHANGE_ADMIN_TOKEN)', process.env.EXCHANGE_ADMIN_TOKEN ?? defaults.adminToken)
  .option('--broker <url>', 'broker HTTP base URL', `http://127.0.0.1:${defaults.brokerPort}`)
  .option('--host <host>', 'order-entry host', '127.0.0.1')
  .option('--port <port>', 'order-entry port of the key (base + keyId mod workers)', String(defaults.orderEntryBasePort + (ops.keyId % defaults.gatewayWorkers)))
  .option('--key <keyId>', 'admin/back-office API key id', String(ops.keyId))
  .option('--secret <secret>', 'API key secret (or EXCHANGE_ADMIN_SECRET)', process.env.EXCHANGE_ADMIN_SECRET ?? ops.apiSecret);

async function http(method: 'GET' | 'POST', path: string, base: 'http' | 'broker' = 'http'): Promise<void> {
  const o = program.opts();
  const response = await fetch(`${o[base]}${path}`, { method, headers: { authorization: `Bearer ${o.token}` } });
  const body = await response.text();
  console.log(body);
  if (!response.ok) process.exitCode = 1;
}

/** Sends one admin command and prints the first answering event. */
async function send(template: string, values: Record<string, number>, answers: string[]): Promise<void> {
  const o = program.opts();
  const client = new ExchangeClient({ url: `ws://${o.host}:${o.port}`, keyId: Number(o.key), secret: o.secret, cancelOnDisconnect: false });
  await client.connect();
  try {
    client.send(template, values);
    const answer: ServerMessage = await client.next((m) => answers.includes(m.type) || m.type === 'CommandRejected' || m.type === 'Reject', 5000);
    if (answer.type === 'CommandRejected' || answer.type === 'Reject') {
      console.error(`refused: ${nameOf({ ...RejectReason, ...GatewayReject }, Number(answer.reason))} (${answer.reason})`);
      process.exitCode = 2;
    }
    console.log(JSON.stringify(answer));
  } finally {
    await client.close();
  }
}

const number = (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${value}`);
  return n;
};

program.command('status').description('sequences, ring occupancy, readiness').action(() => http('GET', '/admin/status'));
program.command('snapshot').description('cut and store a snapshot now').action(() => http('POST', '/admin/snapshot'));
program.command('stop').description('drain the rings, flush the journal, final snapshot, exit').action(() => http('POST', '/admin/stop'));

const instrument = program.command('instrument').description('add, halt or resume an instrument');
instrument.command('add <id> <symbol>')
  .requiredOption('--reference <price>', 'reference price (minor units)')
  .option('--tick <n>', 'tick size', '1').option('--lot <n>', 'lot size', '1').option('--band <bps>', 'price band in basis points', '1000')
  .option('--max-quantity <n>', 'max order quantity', '1000000').option('--max-notional <n>', 'max order notional', '10000000000')
  .option('--settlement <days>', 'settlement days (1 or 2)', '1')
  .action((id: string, symbol: string, o: Record<string, string>) => {
    const [symbolHead, symbolTail] = packSymbol(symbol);
    return send('AddInstrument', {
      instrument: number(id), symbolHead, symbolTail, tickSize: number(o.tick), lotSize: number(o.lot), bandBasisPoints: number(o.band),
      maxOrderQuantity: number(o.maxQuantity), maxOrderNotional: number(o.maxNotional), referencePrice: number(o.reference),
      settlementDays: number(o.settlement),
    }, ['InstrumentAdded']);
  });
instrument.command('halt <id>').action((id: string) => send('HaltInstrument', { instrument: number(id) }, ['InstrumentStateChanged']));
instrument.command('resume <id>').action((id: string) => send('ResumeInstrument', { instrument: number(id) }, ['InstrumentStateChanged']));

const account = program.command('account').description('open and manage accounts (back office)');
account.command('open <id>').option('--type <type>', 'cash or margin', 'cash')
  .action((id: string, o: { type: string }) => send('OpenAccount', { account: number(id), accountType: o.type === 'margin' ? AccountType.Margin : AccountType.Cash }, ['AccountOpened']));
for (const [name, action] of [['approve', AccountAction.ApproveKyc], ['reject', AccountAction.RejectKyc], ['suspend', AccountAction.Suspend], ['resume', AccountAction.Resume], ['close', AccountAction.Close]] as const) {
  account.command(`${name} <id>`).action((id: string) => send('SetAccountStatus', { account: number(id), action }, ['AccountStatusChanged']));
}
program.command('deposit <account> <amount>').requiredOption('--reference <ref>', 'external (bank) reference, idempotent')
  .action((a: string, amount: string, o: { reference: string }) => send('Deposit', { account: number(a), amount: number(amount), reference: number(o.reference) }, ['CashDeposited']));
program.command('withdraw <account> <amount>').requiredOption('--reference <ref>', 'external (bank) reference, idempotent')
  .action((a: string, amount: string, o: { reference: string }) => send('Withdraw', { account: number(a), amount: number(amount), reference: number(o.reference) }, ['CashWithdrawn']));

program.command('broker-outbox').description('mails the broker sent (development outbox): password resets, e-mail verifications')
  .option('--email <address>', 'only mails to this address').option('--limit <n>', 'newest n', '20')
  .action((o: { email?: string; limit: string }) => {
    const query = new URLSearchParams({ limit: String(number(o.limit)), ...(o.email === undefined ? {} : { email: o.email }) });
    return http('GET', `/api/admin/outbox?${query}`, 'broker');
  });

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
