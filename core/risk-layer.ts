/**
 * What the matcher asks of the accounts-and-risk layer, at fixed points of an
 * order's life. The matcher runs without one (venue mode: any account may trade,
 * no balances); with one, every money and position movement happens in these hooks,
 * inside the same single-threaded command, so balances are always consistent with
 * the book.
 *
 * Hooks never emit events out of order: they write into the matcher's output
 * buffer right after the event that caused them. They must not cancel or enter
 * orders from inside onTrade (the matcher is mid-sweep); work that needs that
 * (liquidation) is queued and done in `afterCommand`.
 */
import type { Matcher } from './matcher';
import type { ImageComponent } from './state-image';

export interface RiskLayer extends ImageComponent {
  attach(matcher: Matcher): void;
  /** Whether the risk layer owns this command type (accounts, cash, corporate actions). */
  handles(commandType: number): boolean;
  process(commandType: number, words: Float64Array, offset: number): void;
  /** 0 when the account (an integer in 1..maxAccounts, validated by the caller) may place orders, else UNKNOWN_ACCOUNT / ACCOUNT_NOT_ACTIVE. */
  checkAccountCanTrade(account: number): number;
  /** Pre-trade check of a new order at its effective price (limit, protection or stop); 0 or a reason. */
  checkNewOrder(account: number, instrument: number, side: number, orderType: number, price: number, quantity: number): number;
  /** The order was accepted: hold its cash or shares. */
  onOrderAccepted(slot: number): void;
  /** A stop triggered and took its market/limit terms: re-hold at them; false if the account cannot afford it. */
  repriceTriggered(slot: number): boolean;
  checkReplace(slot: number, newPrice: number, newLeaves: number): number;
  onReplaced(slot: number, oldPrice: number, oldLeaves: number): void;
  onTrade(maker: number, taker: number, price: number, quantity: number, makerFee: number, takerFee: number): void;
  /** The order left the system (filled or canceled): release what it still holds. */
  onOrderDone(slot: number): void;
  onEndOfDay(tradeDate: number): void;
  /** End of every command: work deferred out of the match loop (liquidations). */
  afterCommand(): void;
  checkFeeAccount(feeAccount: number, makerBasisPoints: number, takerBasisPoints: number): number;
  setFeeAccount(feeAccount: number): void;
}
