// The official stripe-node SDK (pinned in package.json, installed by `npm ci`) against the local
// stack, as code ported from Stripe would use it. Run by tests/e2e/test_stripe_node.py:
//
//     STRIPE_API_URL=http://127.0.0.1:PORT STRIPE_KEY=sk_test_… node tests/e2e/node/stripe_node_suite.js
//
// Every check is recorded; the last line printed is one JSON object {"passed": N, "failed": N,
// "checks": [{name, ok, detail}]}, and the exit status is 1 if any check failed.
'use strict';

const http = require('node:http');
const Stripe = require('stripe');

const checks = [];
function check(name, ok, detail) {
  checks.push({ name, ok: Boolean(ok), detail: ok ? undefined : detail });
}
async function expectError(name, promise, expected) {
  try {
    await promise;
    check(name, false, 'no error');
  } catch (err) {
    const got = { statusCode: err.statusCode, code: err.code, param: err.param, type: err.type };
    const ok = Object.entries(expected).every(([k, v]) => got[k] === v);
    check(name, ok, JSON.stringify({ got, message: err.message }));
    return err;
  }
  return null;
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A webhook receiver on 127.0.0.1 that keeps each delivery's raw body and signature header.
function startReceiver() {
  const deliveries = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['stripe-signature'] });
      res.writeHead(200);
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, deliveries })));
}

async function main() {
  const api = new URL(process.env.STRIPE_API_URL);
  const stripe = new Stripe(process.env.STRIPE_KEY, {
    host: api.hostname, port: Number(api.port), protocol: api.protocol.replace(':', ''), maxNetworkRetries: 0,
  });
  const receiver = await startReceiver();
  const receiverUrl = `http://127.0.0.1:${receiver.server.address().port}/hooks`;

  // 1. Webhook endpoints with api_version: the SDK's own, and one left to the account's default.
  const pinned = await stripe.webhookEndpoints.create({
    url: receiverUrl, enabled_events: ['*'], api_version: Stripe.API_VERSION, connect: false,
    description: 'stripe-node pinned',
  });
  check('webhook endpoint keeps api_version', pinned.api_version === Stripe.API_VERSION, pinned.api_version);
  check('webhook endpoint answers application: null', pinned.application === null, pinned.application);
  check('webhook endpoint secret shown at creation', /^whsec_/.test(pinned.secret), pinned.secret);
  const retrieved = await stripe.webhookEndpoints.retrieve(pinned.id);
  check('retrieved endpoint keeps api_version, hides the secret',
    retrieved.api_version === Stripe.API_VERSION && retrieved.secret === undefined, JSON.stringify(retrieved));
  const listedEndpoints = await stripe.webhookEndpoints.list({ limit: 10 });
  check('listed endpoint carries api_version',
    listedEndpoints.data.some((e) => e.id === pinned.id && e.api_version === Stripe.API_VERSION), '');
  await expectError('connect=true is refused', stripe.webhookEndpoints.create({
    url: receiverUrl, enabled_events: ['*'], connect: true,
  }), { statusCode: 400, code: 'parameter_unsupported', param: 'connect' });

  // 2. The whole customer object, and the version echoed on every response.
  const created = await stripe.customers.create({
    email: 'node.ada@example.com', name: 'Ada Lovelace', phone: '+442079460000',
    shipping: { name: 'Ada Lovelace', phone: '+442079460000', address: { line1: '12 St James Sq', city: 'London', country: 'GB' } },
    preferred_locales: ['en-GB', 'fr'], tax_exempt: 'reverse', business_name: 'Analytical Engines Ltd.',
    individual_name: 'Augusta Ada King', metadata: { source: 'node' },
  });
  check('create echoes the SDK version (lastResponse.apiVersion)',
    created.lastResponse.apiVersion === Stripe.API_VERSION, created.lastResponse.apiVersion);
  check('shipping stored', created.shipping && created.shipping.address.city === 'London' && created.shipping.name === 'Ada Lovelace',
    JSON.stringify(created.shipping));
  check('preferred_locales, tax_exempt, business_name, individual_name stored',
    created.preferred_locales.join(',') === 'en-GB,fr' && created.tax_exempt === 'reverse'
    && created.business_name === 'Analytical Engines Ltd.' && created.individual_name === 'Augusta Ada King',
    JSON.stringify(created));
  check('billing fields answer Stripe\'s neutral values',
    created.balance === 0 && created.currency === null && created.delinquent === false
    && created.default_source === null && created.discount === null && created.invoice_prefix === null
    && created.invoice_settings.default_payment_method === null && created.invoice_settings.footer === null
    && created.next_invoice_sequence === null && created.test_clock === null, JSON.stringify(created));
  const updated = await stripe.customers.update(created.id, { shipping: '', preferred_locales: [], tax_exempt: 'none' });
  check('update clears shipping with "" and sets tax_exempt',
    updated.shipping === null && updated.tax_exempt === 'none', JSON.stringify(updated));
  await expectError('a billing field is refused', stripe.customers.update(created.id, { balance: 500 }),
    { statusCode: 400, code: 'parameter_unsupported', param: 'balance' });
  await expectError('Stripe-Account is refused', stripe.customers.create({ name: 'x' }, { stripeAccount: 'acct_1Connected' }),
    { statusCode: 400, code: 'parameter_unsupported', param: 'Stripe-Account' });
  const older = new Stripe(process.env.STRIPE_KEY, {
    host: api.hostname, port: Number(api.port), protocol: api.protocol.replace(':', ''), apiVersion: '2024-06-20',
    maxNetworkRetries: 0,
  });
  const viaOlder = await older.customers.retrieve(created.id);
  check('another Stripe-Version is honoured and echoed',
    viaOlder.lastResponse.apiVersion === '2024-06-20' && viaOlder.id === created.id, viaOlder.lastResponse.apiVersion);
  const removed = await stripe.customers.del(created.id);
  check('delete', removed.deleted === true, JSON.stringify(removed));

  // 3. List and search, auto-paging forwards and backwards.
  const ids = [];
  for (let i = 0; i < 25; i += 1) {
    const c = await stripe.customers.create({ email: `node${i}@paging.example.com`, name: `Pager ${i}`, metadata: { i: String(i) } });
    ids.push(c.id);
  }
  const newestFirst = [...ids].reverse();
  const forwards = await stripe.customers.list({ limit: 7 }).autoPagingToArray({ limit: 1000 });
  check('list auto-paging forwards: every customer once, newest first',
    JSON.stringify(forwards.map((c) => c.id)) === JSON.stringify(newestFirst), forwards.map((c) => c.id).join(','));
  const backwards = await stripe.customers.list({ limit: 4, ending_before: ids[0] }).autoPagingToArray({ limit: 1000 });
  check('list auto-paging backwards (ending_before): the newer ones, oldest first',
    JSON.stringify(backwards.map((c) => c.id)) === JSON.stringify(ids.slice(1)), backwards.map((c) => c.id).join(','));
  const found = await stripe.customers.search({ query: 'name~"pager"', limit: 6 }).autoPagingToArray({ limit: 1000 });
  check('search auto-paging (next_page): every match once',
    JSON.stringify(found.map((c) => c.id)) === JSON.stringify(newestFirst), found.map((c) => c.id).join(','));
  const counted = await stripe.customers.search({ query: 'name~"pager"', limit: 1, expand: ['total_count', 'data.tax_ids'] });
  check('search accepts expand[] entries that expand nothing', counted.total_count === 25, JSON.stringify(counted.total_count));

  // 4. Events: types[], the wildcard, delivery_success, auto-paging both ways.
  let deliveredAll = false;
  for (let n = 0; n < 600 && !deliveredAll; n += 1) {
    await sleep(100);
    const pending = await stripe.events.list({ limit: 100, delivery_success: true });
    deliveredAll = pending.data.length >= 28;  // 1 + 1 + 1 (ada) + 25 created
  }
  check('delivery_success=true lists the delivered events', deliveredAll, '');
  const createdEvents = await stripe.events.list({ types: ['customer.created', 'customer.deleted'], limit: 5 })
    .autoPagingToArray({ limit: 1000 });
  check('Event.list with types[] pages through both types only',
    createdEvents.length === 27 && createdEvents.every((e) => ['customer.created', 'customer.deleted'].includes(e.type)),
    `${createdEvents.length}: ${[...new Set(createdEvents.map((e) => e.type))]}`);
  const all = await stripe.events.list({ type: 'customer.*', limit: 9 }).autoPagingToArray({ limit: 1000 });
  check('type=customer.* matches every customer event', all.length === 28, String(all.length));
  const sorted = [...all].sort((a, b) => (a.id < b.id ? 1 : -1));
  check('events newest first', JSON.stringify(all.map((e) => e.id)) === JSON.stringify(sorted.map((e) => e.id)), '');
  const oldest = all[all.length - 1];
  const newerThanOldest = await stripe.events.list({ type: 'customer.*', limit: 4, ending_before: oldest.id })
    .autoPagingToArray({ limit: 1000 });
  check('events auto-paging backwards (ending_before)',
    JSON.stringify(newerThanOldest.map((e) => e.id)) === JSON.stringify(all.slice(0, -1).reverse().map((e) => e.id)), '');
  const failed = await stripe.events.list({ delivery_success: false });
  check('delivery_success=false: none failed', failed.data.length === 0, JSON.stringify(failed.data.map((e) => e.id)));

  // 5. Real deliveries, verified by stripe-node and labelled with the endpoint's version.
  let verified = 0;
  const labels = new Set();
  for (const delivery of receiver.deliveries) {
    try {
      const event = stripe.webhooks.constructEvent(delivery.body, delivery.signature, pinned.secret);
      verified += 1;
      labels.add(event.api_version);
    } catch (err) {
      check('a delivery verifies with webhooks.constructEvent', false, err.message);
    }
  }
  check('deliveries verified with webhooks.constructEvent', verified >= 28, `${verified} of ${receiver.deliveries.length}`);
  check('every delivered event carries the endpoint\'s api_version',
    labels.size === 1 && labels.has(Stripe.API_VERSION), [...labels].join(','));
  let tamperedRefused = false;
  try {
    stripe.webhooks.constructEvent(receiver.deliveries[0].body.replace('customer', 'cust0mer'),
      receiver.deliveries[0].signature, pinned.secret);
  } catch (err) {
    tamperedRefused = err.type === 'StripeSignatureVerificationError';
  }
  check('a tampered delivery is refused', tamperedRefused, '');
  const retrievedEvent = await stripe.events.retrieve(all[0].id);
  check('an event retrieved keeps the version it was made with (the account\'s)',
    typeof retrievedEvent.api_version === 'string' && retrievedEvent.id === all[0].id, retrievedEvent.api_version);

  await stripe.webhookEndpoints.del(pinned.id);
  receiver.server.close();
}

main()
  .catch((err) => check('suite ran to the end', false, `${err.type || ''} ${err.message}\n${err.stack}`))
  .finally(() => {
    const failed = checks.filter((c) => !c.ok).length;
    console.log(JSON.stringify({ passed: checks.length - failed, failed, checks }));
    process.exitCode = failed ? 1 : 0;
    setTimeout(() => process.exit(process.exitCode), 100).unref();
  });
