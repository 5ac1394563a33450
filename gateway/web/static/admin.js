// The broker's back-office page: the KYC review queue (approve opens the core account), deposits,
// and the development outbox — over the /api/admin endpoints with the exchange's admin token
// (docs/broker-api.md, Back office). The token stays in this page's memory.
'use strict';

// $, el and money come from dom.js.
let token = '';

async function admin(method, path, body) {
  const options = { method, headers: { authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    options.headers['content-type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const res = await fetch(path, options);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = data.error || { code: 'BROKER_HTTP', message: `HTTP ${res.status}` };
    throw Object.assign(new Error(e.message), e, { status: res.status });
  }
  return data;
}

const describe = (error) => `${error.message}${error.code ? ` (${error.code})` : ''}`;

$('token-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('token-error').textContent = '';
  token = $('token').value;
  try {
    await loadQueue();
    $('token').value = '';
    $('unlock').hidden = true;
    $('office').hidden = false;
    $('state').textContent = 'open';
    loadOutbox();
  } catch (error) {
    token = '';
    $('token-error').textContent = describe(error);
  }
});

async function loadQueue() {
  const { kyc } = await admin('GET', '/api/admin/kyc?status=pending');
  const rows = kyc.map((k) => el('tr', { 'data-kyc': k.id, 'data-email': k.email },
    el('td', {}, k.id), el('td', {}, k.email), el('td', {}, k.name), el('td', {}, k.date_of_birth), el('td', {}, k.address), el('td', {}, k.document_reference),
    el('td', {}, new Date(k.submitted_at).toLocaleString()),
    el('td', {}, el('button', { class: 'small approve', type: 'button', onclick: () => review(k, 'approve') }, 'Approve'), ' ',
      el('button', { class: 'small reject', type: 'button', onclick: () => review(k, 'reject') }, 'Reject'))));
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 8 }, 'nothing to review')));
  $('kyc-queue').querySelector('tbody').replaceChildren(...rows);
}

async function review(k, decision) {
  $('kyc-error').textContent = '';
  $('kyc-ok').textContent = '';
  let body = {};
  if (decision === 'reject') {
    const reason = prompt(`Reason for rejecting ${k.email}:`);
    if (!reason) return;
    body = { reason };
  }
  try {
    const { kyc } = await admin('POST', `/api/admin/kyc/${k.id}/${decision}`, body);
    $('kyc-ok').textContent = decision === 'approve' ? `${k.email} approved: account ${kyc.account}` : `${k.email} rejected`;
    if (decision === 'approve') $('deposit-email').value = k.email;
  } catch (error) {
    $('kyc-error').textContent = describe(error);
  }
  loadQueue().catch((error) => { $('kyc-error').textContent = describe(error); });
}

$('reload').addEventListener('click', () => {
  loadQueue().catch((error) => { $('kyc-error').textContent = describe(error); });
  loadOutbox();
});

$('deposit-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('deposit-error').textContent = '';
  $('deposit-ok').textContent = '';
  try {
    const { deposit } = await admin('POST', '/api/admin/deposits', { email: $('deposit-email').value, amount: Math.round(Number($('deposit-amount').value) * 100) });
    $('deposit-ok').textContent = `Deposited ${money(deposit.amount)} to account ${deposit.account}: cash ${money(deposit.cashBalance)}`;
  } catch (error) {
    $('deposit-error').textContent = describe(error);
  }
});

async function loadOutbox() {
  try {
    const { messages } = await admin('GET', '/api/admin/outbox?limit=10');
    $('outbox').replaceChildren(...messages.map((m) => el('li', { class: `mail kind-${m.kind}` },
      el('span', { class: 'badge' }, m.kind), `${new Date(m.createdAt).toLocaleTimeString()} to ${m.to}: ${m.subject}`)));
  } catch {
    // The queue shows the error; the outbox is a convenience.
  }
}
