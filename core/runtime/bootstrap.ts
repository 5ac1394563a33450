/**
 * The commands that set up a fresh exchange from its configuration: instruments,
 * the fee schedule, demo accounts (opened, approved, funded, limits). They go
 * through the inbound ring and the journal like every other command, so a replay
 * reproduces them; they are submitted only when the journal is empty.
 */
import { AccountAction, AccountType } from '../codes';
import { encodeCommand } from '../record-objects';
import { packSymbol } from '../schema';
import type { ExchangeConfig } from './config';

export function bootstrapCommands(config: ExchangeConfig, timestampMicros: number): Float64Array[] {
  const commands: Float64Array[] = [];
  const t = timestampMicros;
  for (const i of config.instruments) {
    const [symbolHead, symbolTail] = packSymbol(i.symbol);
    commands.push(encodeCommand('AddInstrument', {
      instrument: i.id, symbolHead, symbolTail, tickSize: i.tickSize, lotSize: i.lotSize, bandBasisPoints: i.bandBasisPoints,
      maxOrderQuantity: i.maxOrderQuantity, maxOrderNotional: i.maxOrderNotional, referencePrice: i.referencePrice,
      settlementDays: i.settlementDays,
    }, t));
  }
  let reference = 1;
  for (const a of config.demoAccounts) {
    commands.push(encodeCommand('OpenAccount', { account: a.account, accountType: a.type === 'margin' ? AccountType.Margin : AccountType.Cash }, t));
    commands.push(encodeCommand('SetAccountStatus', { account: a.account, action: AccountAction.ApproveKyc }, t));
    if (a.deposit > 0) commands.push(encodeCommand('Deposit', { account: a.account, amount: a.deposit, reference: reference++ }, t));
    if (a.maxShortQuantity !== undefined) commands.push(encodeCommand('SetAccountLimits', { account: a.account, maxShortQuantity: a.maxShortQuantity }, t));
  }
  commands.push(encodeCommand('SetFeeSchedule', {
    makerFeeBasisPoints: config.fees.makerBasisPoints, takerFeeBasisPoints: config.fees.takerBasisPoints, feeAccount: config.fees.feeAccount,
  }, t));
  return commands;
}
