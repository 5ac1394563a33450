// The broker web terminal: plain JS, no framework. Talks to the broker's JSON API
// (docs/broker-api.md) with the HttpOnly session cookie and to /ws for live data.
'use strict';

// $, el and money come from dom.js.
const state = { user: null, selected: null, watchlist: null, prices: new Map(), ws: null, refreshTimer: null, interval: '1m', portfolio: null, editing: null };

const chart = new CandleChart($('chart'), { priceText: money });
const toMinor = (text) => Math.round(Number(text) * 100);

async function api(method, path, body, attempt = 0) {
  const options = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    options.headers['content-type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const res = await fetch(path, options);
  const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
  // Reads that hit the per-user throttle wait and try again; actions report it (the user decides).
  if (res.status === 429 && method === 'GET' && attempt < 3 && data.error && data.error.code === 'BROKER_THROTTLED') {
    await new Promise((resolve) => setTimeout(resolve, data.error.retryAfterMs || 500));
    return api(method, path, body, attempt + 1);
  }
  if (!res.ok) {
    const e = data.error || { code: 'BROKER_HTTP', message: `HTTP ${res.status}` };
    const error = new Error(e.message);
    Object.assign(error, e, { status: res.status });
    throw error;
  }
  return data;
}

function describe(error) {
  return `${error.message}${error.code ? ` (${error.code})` : ''}`;
}

// ------------------------------------------------------------ auth and KYC

async function login(email, password) {
  const code = $('login-code').value;
  try {
    await api('POST', '/api/login', { email, password, ...(code ? { code } : {}) });
  } catch (error) {
    if (error.code === 'BROKER_2FA_REQUIRED') {
      $('code-row').hidden = false;
      $('login-code').focus();
    }
    throw error;
  }
  $('login-code').value = '';
  $('code-row').hidden = true;
  await loadMe();
}

async function loadMe() {
  try {
    state.user = (await api('GET', '/api/me')).user;
  } catch (error) {
    // Only a 401 means logged out; a throttled or failed request is asked again.
    if (error.status !== 401) return void setTimeout(loadMe, error.retryAfterMs || 1000);
    state.user = null;
  }
  render();
}

function render() {
  const u = state.user;
  const resetting = location.hash.startsWith('#reset=');
  $('reset').hidden = !resetting;
  $('auth').hidden = u !== null || resetting;
  $('verify-note').hidden = u === null || u.emailVerified;
  $('logout').hidden = u === null;
  $('who').textContent = u ? u.email : '';
  const active = u !== null && u.accountStatus === 'active';
  $('kyc-badge').textContent = u ? (active ? `account ${u.account}` : `KYC: ${u.kycStatus}`) : '';
  $('kyc-badge').hidden = u === null;
  if (u === null) $('flash').textContent = '';
  $('kyc').hidden = u === null || active;
  $('terminal').hidden = !active;
  if (u && !active) {
    const messages = { none: 'Verify your identity to open a trading account.', pending: 'Your documents are under review.', rejected: 'Your last submission was rejected; you may submit again.', approved: 'Approved: your account is being opened.' };
    $('kyc-status').textContent = messages[u.kycStatus] || u.kycStatus;
    $('kyc-form').hidden = u.kycStatus === 'pending' || u.kycStatus === 'approved';
    clearInterval(state.refreshTimer);
    state.refreshTimer = setInterval(loadMe, 2000);
  }
  if (active) {
    clearInterval(state.refreshTimer);
    startTerminal();
    renderTwoFactor();
  }
}

// ------------------------------------------------------------ two-factor authentication

function renderTwoFactor() {
  const on = state.user.twoFactor;
  $('twofa-status').textContent = on ? 'on' : 'off';
  $('twofa-enroll').hidden = on || !$('twofa-setup').hidden;
  $('twofa-form').hidden = !on && $('twofa-setup').hidden;
  $('twofa-submit').textContent = on ? 'Disable' : 'Confirm';
}

$('twofa-enroll').addEventListener('click', async () => {
  $('twofa-error').textContent = '';
  try {
    const { secret, uri } = await api('POST', '/api/2fa/enroll');
    $('twofa-secret').textContent = secret.replace(/(.{4})/g, '$1 ').trim();
    $('twofa-uri').href = uri;
    $('twofa-setup').hidden = false;
    renderTwoFactor();
  } catch (error) {
    $('twofa-error').textContent = describe(error);
  }
});

$('twofa-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('twofa-error').textContent = '';
  try {
    const { twoFactor } = await api('POST', state.user.twoFactor ? '/api/2fa/disable' : '/api/2fa/confirm', { code: $('twofa-code').value });
    state.user.twoFactor = twoFactor;
    $('twofa-setup').hidden = true;
    $('twofa-code').value = '';
    renderTwoFactor();
  } catch (error) {
    $('twofa-error').textContent = describe(error);
  }
});

$('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('auth-error').textContent = '';
  $('auth-info').textContent = '';
  try {
    await login($('email').value, $('password').value);
  } catch (error) {
    $('auth-error').textContent = describe(error);
  }
});

$('signup').addEventListener('click', async () => {
  $('auth-error').textContent = '';
  try {
    await api('POST', '/api/signup', { email: $('email').value, password: $('password').value });
    await login($('email').value, $('password').value);
  } catch (error) {
    $('auth-error').textContent = describe(error);
  }
});

$('forgot').addEventListener('click', async () => {
  $('auth-error').textContent = '';
  $('auth-info').textContent = '';
  if (!$('email').value) {
    $('auth-error').textContent = 'Enter your e-mail address first.';
    return;
  }
  try {
    const { message } = await api('POST', '/api/password-reset', { email: $('email').value });
    $('auth-info').textContent = `${message[0].toUpperCase()}${message.slice(1)}.`;
  } catch (error) {
    $('auth-error').textContent = describe(error);
  }
});

// Links from the mails: #reset=<token> opens the new-password form, #verify=<token> confirms the address.
function leaveLink() {
  history.replaceState(null, '', location.pathname);
}

$('reset-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('reset-error').textContent = '';
  try {
    await api('POST', '/api/password-reset/confirm', { token: location.hash.slice('#reset='.length), password: $('reset-password').value });
    leaveLink();
    state.user = null;
    $('auth-info').textContent = 'Password changed: log in with the new password.';
    render();
  } catch (error) {
    $('reset-error').textContent = describe(error);
  }
});

async function verifyFromLink() {
  if (!location.hash.startsWith('#verify=')) return;
  const token = location.hash.slice('#verify='.length);
  leaveLink();
  try {
    await api('POST', '/api/verify-email', { token });
    $('flash').textContent = 'E-mail address confirmed.';
    $('auth-info').textContent = 'E-mail address confirmed.';
  } catch (error) {
    $('auth-error').textContent = describe(error);
  }
}

$('verify-resend').addEventListener('click', async () => {
  try {
    const { sent } = await api('POST', '/api/verify-email/resend');
    $('flash').textContent = sent ? 'A new link is on its way.' : 'Your address is confirmed.';
  } catch (error) {
    $('flash').textContent = describe(error);
  }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/logout').catch(() => {});
  if (state.ws) state.ws.close();
  state.ws = null;
  state.started = false;
  state.user = null;
  state.portfolio = null;
  render();
});

$('kyc-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('kyc-error').textContent = '';
  try {
    await api('POST', '/api/kyc', { name: $('kyc-name').value, dateOfBirth: $('kyc-dob').value, address: $('kyc-address').value, documentReference: $('kyc-doc').value, accountType: $('kyc-account-type').value });
    await loadMe();
  } catch (error) {
    $('kyc-error').textContent = describe(error);
  }
});

// ------------------------------------------------------------ terminal

function startTerminal() {
  if (state.started) return;
  state.started = true;
  connectLive();
  loadWatchlist();
  refreshAccount();
  loadNotifications();
  search('');
  loadPerformance();
  setInterval(loadPerformance, 60_000); // a daily curve: once a minute is plenty, and spares the request budget
}

// Performance: the daily equity curve (lightweight-charts line) and the time-weighted return.
let equityCurve = null;
async function loadPerformance() {
  try {
    const { performance } = await api('GET', '/api/performance');
    if (equityCurve === null) {
      const { createChart, LineSeries } = window.LightweightCharts;
      const chart = createChart($('equity-curve'), {
        autoSize: true, layout: { background: { color: '#0f1419' }, textColor: '#9aa7b2', attributionLogo: false },
        grid: { vertLines: { visible: false }, horzLines: { color: '#1b232b' } }, localization: { priceFormatter: money },
      });
      equityCurve = chart.addSeries(LineSeries, { color: '#60a5fa', lineWidth: 2 });
    }
    equityCurve.setData(performance.points.map((p) => ({ time: p.date, value: p.equity })));
    $('equity-curve').dataset.points = String(performance.points.length);
    const twr = performance.timeWeightedReturn;
    $('twr').textContent = twr === null ? 'Time-weighted return: after the first full day' : `Time-weighted return ${(twr * 100).toFixed(2)} % over ${performance.points.length} days`;
  } catch (error) {
    $('twr').textContent = describe(error);
  }
}

function connectLive() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => {
    $('live').textContent = 'live';
    subscribePrices();
    if (state.selected) {
      ws.send(JSON.stringify({ op: 'depth', symbol: state.selected }));
      subscribeCandles();
    }
  };
  ws.onclose = () => {
    $('live').textContent = 'offline';
    if (state.ws === ws && state.user) setTimeout(connectLive, 1000);
  };
  ws.onmessage = (event) => {
    const m = JSON.parse(event.data);
    if (m.type === 'price') onPrice(m.symbol, m.last);
    else if (m.type === 'depth') renderDepth(m);
    else if (m.type === 'candles') onCandles(m);
    else if (m.type === 'notification') {
      prependNotification(m.notification);
      scheduleRefresh();
    } else if (m.type === 'order' || m.type === 'portfolio' || m.type === 'withdrawal') scheduleRefresh();
  };
}

let refreshPending = false;
function scheduleRefresh() {
  if (refreshPending) return;
  refreshPending = true;
  setTimeout(() => {
    refreshPending = false;
    refreshAccount();
  }, 150);
}

function subscribePrices() {
  const symbols = new Set(state.watchlist ? state.watchlist.symbols : []);
  if (state.selected) symbols.add(state.selected);
  if (state.portfolio) for (const p of state.portfolio.positions) symbols.add(p.symbol);
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ op: 'prices', symbols: [...symbols] }));
}

function onPrice(symbol, last) {
  const previous = state.prices.get(symbol);
  state.prices.set(symbol, last);
  const cell = document.querySelector(`#watchlist td[data-price="${symbol}"]`);
  if (cell) {
    cell.textContent = money(last);
    cell.className = `num ${previous === undefined || previous === last ? '' : last > previous ? 'up' : 'down'}`;
  }
  if (state.portfolio && state.portfolio.positions.some((p) => p.symbol === symbol)) schedulePortfolio();
}

// The portfolio moves with live prices between refreshes: market value and unrealized P&L are
// quantity × last − cost basis, as the broker computes them (docs/broker-api.md), redrawn once per frame.
let portfolioFrame = 0;
function schedulePortfolio() {
  if (portfolioFrame === 0) portfolioFrame = requestAnimationFrame(() => { portfolioFrame = 0; renderPortfolio(); });
}

function renderPortfolio() {
  const portfolio = state.portfolio;
  if (!portfolio) return;
  let marketValue = 0;
  let unrealized = 0;
  const rows = portfolio.positions.map((p) => {
    const last = state.prices.get(p.symbol) ?? p.lastPrice;
    const value = p.quantity * last;
    const pnl = value - p.costBasis;
    marketValue += value;
    unrealized += pnl;
    return el('tr', { 'data-symbol': p.symbol }, el('td', {}, p.symbol), el('td', { class: 'num' }, p.quantity), el('td', { class: 'num' }, money(p.averagePrice)),
      el('td', { class: 'num last' }, money(last)), el('td', { class: `num pnl ${pnl >= 0 ? 'up' : 'down'}` }, money(pnl)), el('td', { class: 'num' }, money(p.realizedPnl)));
  });
  $('cash').replaceChildren(
    el('div', {}, `Cash ${money(portfolio.cash)} (settled ${money(portfolio.settledCash)}, unsettled ${money(portfolio.unsettledCash)}) · buying power ${money(portfolio.buyingPower)} · withdrawable ${money(portfolio.withdrawable)} · equity `, el('span', { id: 'equity' }, money(portfolio.cash + marketValue))),
    el('div', {}, 'Unrealized P&L ', el('span', { class: unrealized >= 0 ? 'up' : 'down', id: 'unrealized' }, money(unrealized)), ' · realized ', money(portfolio.realizedPnl)));
  $('positions').querySelector('tbody').replaceChildren(...rows);
}

// Chart: candles from the broker (history on subscribe, then live updates of the series).
function subscribeCandles() {
  chart.clear();
  $('chart').dataset.interval = state.interval;
  if (state.ws && state.ws.readyState === WebSocket.OPEN && state.selected) state.ws.send(JSON.stringify({ op: 'candles', symbol: state.selected, interval: state.interval }));
}

function onCandles(m) {
  if (m.symbol !== state.selected || m.interval !== state.interval) return; // an answer to an older subscription
  if (m.snapshot) chart.setData(m.candles);
  else for (const candle of m.candles) chart.update(candle);
}

$('chart-interval').addEventListener('change', () => {
  state.interval = $('chart-interval').value;
  subscribeCandles();
});

function renderDepth(m) {
  if (m.symbol !== state.selected) return;
  const tbody = $('depth').querySelector('tbody');
  tbody.replaceChildren();
  const asks = [...m.asks].slice(0, 8).reverse();
  for (const [price, qty] of asks) tbody.append(el('tr', { class: 'selectable', onclick: () => { $('order-price').value = (price / 100).toFixed(2); } }, el('td', { class: 'num' }, ''), el('td', { class: 'num ask' }, money(price)), el('td', { class: 'num ask' }, qty)));
  for (const [price, qty] of m.bids.slice(0, 8)) tbody.append(el('tr', { class: 'selectable', onclick: () => { $('order-price').value = (price / 100).toFixed(2); } }, el('td', { class: 'num bid' }, qty), el('td', { class: 'num bid' }, money(price)), el('td', { class: 'num' }, '')));
  if (m.asks.length === 0 && m.bids.length === 0) tbody.append(el('tr', {}, el('td', { colspan: 3 }, 'no orders')));
}

function select(symbol) {
  state.selected = symbol;
  $('selected-symbol').textContent = symbol;
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ op: 'depth', symbol }));
  subscribePrices();
  subscribeCandles();
  const last = state.prices.get(symbol);
  if (last !== undefined && !$('order-price').value) $('order-price').value = (last / 100).toFixed(2);
}

// ------------------------------------------------------------ search and watchlist

let searchTimer = null;
$('search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => search($('search').value), 120);
});

let searchSequence = 0;
async function search(q) {
  const mine = ++searchSequence;
  const { instruments } = await api('GET', `/api/instruments?q=${encodeURIComponent(q)}`);
  if (mine !== searchSequence) return; // a newer search answered or is on its way
  const list = $('search-results');
  list.replaceChildren();
  for (const i of instruments) {
    if (i.last !== null && !state.prices.has(i.symbol)) state.prices.set(i.symbol, i.last);
    list.append(el('li', { 'data-symbol': i.symbol },
      el('span', { class: 'sym', onclick: () => select(i.symbol) }, `${i.symbol} `),
      el('span', { onclick: () => select(i.symbol) }, i.name),
      el('button', { class: 'small add', type: 'button', onclick: () => addToWatchlist(i.symbol) }, '+')));
  }
}

async function loadWatchlist() {
  const { watchlists } = await api('GET', '/api/watchlists');
  state.watchlist = watchlists[0] || null;
  renderWatchlist();
}

async function addToWatchlist(symbol) {
  if (!state.watchlist) state.watchlist = (await api('POST', '/api/watchlists', { name: 'My watchlist' })).watchlist;
  state.watchlist = (await api('POST', `/api/watchlists/${state.watchlist.id}/symbols`, { symbol })).watchlist;
  renderWatchlist();
  if (!state.selected) select(symbol);
}

async function removeFromWatchlist(symbol) {
  state.watchlist = (await api('DELETE', `/api/watchlists/${state.watchlist.id}/symbols/${symbol}`)).watchlist;
  renderWatchlist();
}

function renderWatchlist() {
  const tbody = $('watchlist').querySelector('tbody');
  tbody.replaceChildren();
  for (const symbol of state.watchlist ? state.watchlist.symbols : []) {
    tbody.append(el('tr', { class: 'selectable', 'data-symbol': symbol },
      el('td', { onclick: () => select(symbol) }, symbol),
      el('td', { class: 'num', 'data-price': symbol }, money(state.prices.get(symbol))),
      el('td', {}, el('button', { class: 'small', type: 'button', onclick: () => removeFromWatchlist(symbol) }, '×'))));
  }
  subscribePrices();
}

// ------------------------------------------------------------ order ticket

$('order-type').addEventListener('change', () => {
  const type = $('order-type').value;
  $('price-row').hidden = type === 'market' || type === 'stop';
  $('stop-row').hidden = type === 'limit' || type === 'market';
  if (type === 'market') $('order-tif').value = 'IOC';
});

$('ticket').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('ticket-error').textContent = '';
  $('ticket-ok').textContent = '';
  if (!state.selected) {
    $('ticket-error').textContent = 'Choose a symbol first (search or watchlist).';
    return;
  }
  const type = $('order-type').value;
  const body = { symbol: state.selected, side: document.querySelector('input[name=side]:checked').value, type, timeInForce: $('order-tif').value, quantity: Number($('order-qty').value) };
  if (type === 'limit' || type === 'stop_limit') body.price = toMinor($('order-price').value);
  if (type === 'stop' || type === 'stop_limit') body.stopPrice = toMinor($('order-stop').value);
  $('place-order').disabled = true;
  try {
    const { order } = await api('POST', '/api/orders', body);
    $('ticket-ok').textContent = `Order ${order.id}: ${order.status}`;
  } catch (error) {
    $('ticket-error').textContent = describe(error);
  } finally {
    $('place-order').disabled = false;
    refreshAccount();
  }
});

// ------------------------------------------------------------ account

// One account refresh at a time: a refresh asked for while one runs runs once more after it (so the
// last answer shown is never older than the last event), and a throttled one waits and tries again.
let refreshing = false;
let refreshAgain = false;
async function refreshAccount() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    do {
      refreshAgain = false;
      await loadAccount();
    } while (refreshAgain);
  } finally {
    refreshing = false;
  }
}

async function loadAccount() {
  try {
    const [{ portfolio }, open, all, { withdrawals }] = await Promise.all([api('GET', '/api/portfolio'), api('GET', '/api/orders?status=open'), api('GET', '/api/orders?limit=50'), api('GET', '/api/withdrawals?limit=10')]);
    const held = state.portfolio ? state.portfolio.positions.map((p) => p.symbol).join() : '';
    state.portfolio = portfolio;
    for (const p of portfolio.positions) if (!state.prices.has(p.symbol)) state.prices.set(p.symbol, p.lastPrice);
    renderPortfolio();
    if (portfolio.positions.map((p) => p.symbol).join() !== held) subscribePrices();
    const openBody = $('open-orders').querySelector('tbody');
    // While an order is being modified its inputs stay put (live refreshes would redraw the table under the typing).
    if (state.editing === null || !open.orders.some((o) => o.id === state.editing)) {
      state.editing = null;
      openBody.replaceChildren();
      for (const o of open.orders) {
        const row = el('tr', { 'data-order': o.id }, el('td', {}, `${o.id} ${o.symbol}`), el('td', {}, o.side), el('td', { class: 'num' }, o.leaves), el('td', { class: 'num' }, money(o.price)), el('td', {}, o.status),
          el('td', {}, el('button', { class: 'small modify', type: 'button', onclick: () => editOrder(row, o) }, 'Modify'), ' ',
            el('button', { class: 'small cancel', type: 'button', onclick: () => cancel(o.id) }, 'Cancel')));
        openBody.append(row);
      }
    }
    const history = $('history').querySelector('tbody');
    history.replaceChildren();
    for (const o of all.orders) {
      history.append(el('tr', { 'data-order': o.id }, el('td', {}, `${o.id} ${o.symbol}`), el('td', {}, o.side), el('td', { class: 'num' }, o.quantity), el('td', { class: 'num' }, o.filled),
        el('td', { class: 'num' }, money(o.averagePrice ?? o.price)), el('td', { class: 'status' }, o.reason ? `${o.status} (${o.reason})` : o.status)));
    }
    const withdrawalRows = $('withdrawals').querySelector('tbody');
    withdrawalRows.replaceChildren();
    for (const w of withdrawals) {
      withdrawalRows.append(el('tr', { 'data-withdrawal': w.id }, el('td', {}, w.id), el('td', {}, new Date(w.createdAt).toLocaleTimeString()), el('td', { class: 'num' }, money(w.amount)),
        el('td', { class: `status ${w.status === 'rejected' ? 'down' : ''}` }, w.reason ? `${w.status} (${w.reason})` : w.status)));
    }
  } catch (error) {
    if (error.status === 401) loadMe();
    else if (error.status === 429) {
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs || 500));
      refreshAgain = true;
    }
  }
}

// One requestId per submitted form: a retry of the same submission is answered by the same withdrawal.
function requestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `w-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

$('withdraw-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('withdraw-error').textContent = '';
  $('withdraw-ok').textContent = '';
  $('withdraw-submit').disabled = true;
  try {
    const { withdrawal } = await api('POST', '/api/withdrawals', { amount: toMinor($('withdraw-amount').value), bankReference: $('withdraw-bank').value, requestId: requestId() });
    $('withdraw-ok').textContent = `Withdrawal ${withdrawal.id}: ${withdrawal.status}`;
    $('withdraw-amount').value = '';
  } catch (error) {
    $('withdraw-error').textContent = describe(error); // a refusal names the core's reason: "withdrawal rejected: INSUFFICIENT_FUNDS"
  } finally {
    $('withdraw-submit').disabled = false;
    refreshAccount();
  }
});

// Replace: the row turns into quantity and price inputs; Save sends PATCH /api/orders/:id (the core's ReplaceOrder).
function editOrder(row, order) {
  state.editing = order.id;
  const done = () => {
    state.editing = null;
    refreshAccount();
  };
  const quantity = el('input', { class: 'edit-qty', type: 'number', min: '1', step: '1', value: String(order.quantity) });
  const price = el('input', { class: 'edit-price', type: 'number', min: '0.01', step: '0.01', value: (order.price / 100).toFixed(2) });
  const save = el('button', { class: 'small save', type: 'button' }, 'Save');
  save.addEventListener('click', async () => {
    $('ticket-error').textContent = '';
    try {
      await api('PATCH', `/api/orders/${order.id}`, { quantity: Number(quantity.value), price: toMinor(price.value) });
    } catch (error) {
      $('ticket-error').textContent = describe(error);
    }
    done();
  });
  row.replaceChildren(el('td', {}, `${order.id} ${order.symbol}`), el('td', {}, order.side), el('td', {}, quantity), el('td', {}, price), el('td', {}, order.status),
    el('td', {}, save, ' ', el('button', { class: 'small', type: 'button', onclick: done }, 'Back')));
}

async function cancel(id) {
  $('ticket-error').textContent = '';
  try {
    await api('DELETE', `/api/orders/${id}`);
  } catch (error) {
    $('ticket-error').textContent = describe(error);
  }
  refreshAccount();
}

async function loadNotifications() {
  const { notifications } = await api('GET', '/api/notifications');
  $('notifications').replaceChildren();
  for (const n of notifications.reverse()) prependNotification(n);
}

function prependNotification(n) {
  const time = new Date(n.createdAt).toLocaleTimeString();
  $('notifications').prepend(el('li', { class: `${n.read ? '' : 'unread'} kind-${n.kind}` }, el('span', { class: 'badge' }, n.kind), `${time} ${n.message}`));
}

verifyFromLink().then(loadMe);
// A link opened in a tab that already shows the terminal only changes the fragment.
window.addEventListener('hashchange', () => verifyFromLink().then(loadMe));
