#!/usr/bin/env python3
"""Proof that scripts/stripe_pinned.py answers in the pinned shape.

    .venv/bin/python scripts/stripe_pinned_check.py [--record DIR] [-v]

Starts the layer (`--from-scratch`, free ports), seeds it over HTTP the way
a sandbox seeding script would (products, a monthly price, customers with a
card as default payment method, a paid subscription, a second customer whose
card 4000000000000341 attaches but fails so its invoice stays open with a
failed payment, a partial refund, coupons on a customer and a subscription,
a canceled subscription, a billing-portal session), then checks:

  * pinned answers (Stripe-Version: 2026-09-30.endive) have the pinned shape:
    invoices without charge/payment_intent/paid/subscription and with
    parent.subscription_details; invoice payments (expand data.payments and
    GET /v1/invoice_payments with its filters, cursors and expansions);
    charges without invoice, refunds only when expanded; payment intents
    with latest_charge; subscriptions with periods on items; discounts with
    source.coupon; removed-field and 5-level expansions are 400s;
  * every pinned answer deserialises into async-stripe's generated types
    (scripts/stripe_pinned_types.py reads their required fields);
  * the same requests without the header, or with an older version, are
    answered byte for byte as localstripe itself answers them;
  * a retried invoice (paid with another card) has two payments, the
    first canceled; concurrent requests are answered alike;
  * SIGTERM stops the layer with status 0 and it had no child process.

Exits 1 on any failure; prints one summary line (and the failures).
With --record DIR it writes the pinned answers used as fixtures there
(tests/fixtures/stripe-pinned), client secrets and portal tokens redacted.
"""

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import stripe_pinned_types  # noqa: E402

PINNED = '2026-09-30.endive'
OLD = '2024-06-20'
KEY = 'sk_test_pinned_check'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def __repr__(self):
        return '<%d %s>' % (self.status, self.raw[:300])


class Client:
    def __init__(self, base):
        self.base = base
        auth = base64.b64encode((KEY + ':').encode()).decode()
        self.auth = 'Basic ' + auth

    def request(self, method, path, params=None, version=PINNED,
                headers=None):
        params = params or []
        if isinstance(params, dict):
            params = list(params.items())
        data = urllib.parse.urlencode(params)
        url = self.base + path
        body = None
        if method == 'POST':
            body = data.encode()
        elif data:
            url += ('&' if '?' in url else '?') + data
        req = urllib.request.Request(url, data=body, method=method)
        req.add_header('Authorization', self.auth)
        if body is not None:
            req.add_header('Content-Type',
                           'application/x-www-form-urlencoded')
        if version:
            req.add_header('Stripe-Version', version)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return Answer(r.status, dict(r.headers), r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, dict(e.headers), e.read())

    def get(self, path, params=None, **kw):
        return self.request('GET', path, params, **kw)

    def post(self, path, params=None, **kw):
        return self.request('POST', path, params, **kw)

    def delete(self, path, params=None, **kw):
        return self.request('DELETE', path, params, **kw)


class Check:
    def __init__(self, verbose=False):
        self.passed = 0
        self.failures = []
        self.typed = 0
        self.verbose = verbose
        try:
            self.schema = stripe_pinned_types.schema()
        except SystemExit as e:
            self.schema = None
            print('warning: %s; answers not type-checked' % e,
                  file=sys.stderr)

    def ok(self, cond, what):
        if cond:
            self.passed += 1
            if self.verbose:
                print('ok   ' + what)
        else:
            self.failures.append(what)
            print('FAIL ' + what)
        return cond

    def typed_ok(self, answer, what):
        """A pinned 200 answer: deserialises into the generated types."""
        if not self.ok(answer.status == 200, '%s: 200 (got %r)'
                       % (what, answer)):
            return None
        if self.schema is not None:
            errors = self.schema.check_auto(answer.json)
            self.typed += 1
            self.ok(not errors, '%s: deserialises into async-stripe types %s'
                    % (what, errors[:5]))
        return answer.json


def seed(c, ck):
    s = {}
    prod = ck.typed_ok(c.post('/v1/products', {'name': 'Team plan',
                                              'metadata[tier]': 'team'}),
                       'create product')
    s['product'] = prod['id']
    price = ck.typed_ok(c.post('/v1/prices', [
        ('product', prod['id']), ('currency', 'eur'),
        ('unit_amount', '1500'), ('recurring[interval]', 'month'),
        ('nickname', 'Team monthly'), ('lookup_key', 'team_monthly')]),
        'create monthly price')
    s['price'] = price['id']
    ck.ok(price['object'] == 'price' and price['recurring']['interval'] ==
          'month' and price['unit_amount'] == 1500, 'price in pinned shape')

    def customer(email, name, number):
        cus = ck.typed_ok(c.post('/v1/customers', {
            'email': email, 'name': name, 'metadata[company]': 'Example'}),
            'create customer ' + email)
        pm = ck.typed_ok(c.post('/v1/payment_methods', [
            ('type', 'card'), ('card[number]', number),
            ('card[exp_month]', '12'), ('card[exp_year]', '2030'),
            ('card[cvc]', '123'), ('billing_details[name]', name)]),
            'create payment method ' + number[-4:])
        ck.typed_ok(c.post('/v1/payment_methods/%s/attach' % pm['id'],
                           {'customer': cus['id']}),
                    'attach payment method ' + number[-4:])
        ck.typed_ok(c.post('/v1/customers/' + cus['id'], {
            'invoice_settings[default_payment_method]': pm['id']}),
            'set default payment method')
        return cus['id'], pm['id']

    s['ana'], s['ana_pm'] = customer('ana@example.com', 'Ana Example',
                                     '4242424242424242')
    s['bo'], s['bo_pm'] = customer('bo@example.com', 'Bo Example',
                                   '4000000000000341')
    s['cy'], s['cy_pm'] = customer('cy@example.com', 'Cy Example',
                                   '4242424242424242')
    s['dee'], s['dee_pm'] = customer('dee@example.com', 'Dee Example',
                                     '4242424242424242')

    loyal = ck.typed_ok(c.post('/v1/coupons', {
        'percent_off': '20', 'duration': 'forever', 'name': 'Loyal 20%'}),
        'create coupon without id')
    s['coupon_loyal'] = loyal['id']
    seats = ck.typed_ok(c.post('/v1/coupons', {
        'id': 'SEATS3', 'amount_off': '300', 'currency': 'eur',
        'duration': 'repeating', 'duration_in_months': '3'}),
        'create coupon with id')
    s['coupon_seats'] = seats['id']
    cus = ck.typed_ok(c.post('/v1/customers/' + s['ana'],
                             {'coupon': loyal['id']}),
                      'coupon on a customer (pre-basil account state)')
    ck.ok(cus['discount'] and cus['discount']['source'] == {
        'type': 'coupon', 'coupon': loyal['id']},
        'customer discount names its coupon under source')

    sub = ck.typed_ok(c.post('/v1/subscriptions', [
        ('customer', s['ana']), ('items[0][price]', s['price']),
        ('items[0][quantity]', '3'), ('discounts[0][coupon]', 'SEATS3'),
        ('metadata[seats]', '3')]), 'create paid subscription')
    s['ana_sub'] = sub['id']
    ck.ok(sub['status'] == 'active', 'paid subscription is active')
    s['ana_invoice'] = sub['latest_invoice']

    sub = ck.typed_ok(c.post('/v1/subscriptions', [
        ('customer', s['bo']), ('items[0][price]', s['price'])]),
        'create subscription whose payment fails')
    s['bo_sub'] = sub['id']
    s['bo_invoice'] = sub['latest_invoice']
    ck.ok(sub['status'] == 'incomplete', 'failed first payment: incomplete')

    sub = ck.typed_ok(c.post('/v1/subscriptions', [
        ('customer', s['cy']), ('items[0][price]', s['price'])]),
        'create subscription to cancel')
    s['cy_sub'] = sub['id']

    # the old shape still names the payment intent and charge
    old = c.get('/v1/invoices/' + s['ana_invoice'], version=None).json
    s['ana_pi'] = old['payment_intent']
    s['ana_charge'] = old['charge']['id']
    old = c.get('/v1/invoices/' + s['bo_invoice'], version=None).json
    s['bo_pi'] = old['payment_intent']
    s['bo_charge'] = old['charge']['id']
    return s


def check_invoices(c, ck, s, rec):
    inv = ck.typed_ok(c.get('/v1/invoices/' + s['ana_invoice']),
                      'GET invoice')
    removed = [f for f in ('charge', 'payment_intent', 'paid',
                           'paid_out_of_band', 'subscription',
                           'subscription_details', 'discount', 'payments')
               if f in inv]
    ck.ok(not removed, 'invoice lacks removed fields (found %s)' % removed)
    ck.ok(inv['parent'] == {
        'type': 'subscription_details', 'quote_details': None,
        'subscription_details': {'subscription': s['ana_sub'],
                                 'metadata': {'seats': '3'}}},
        'invoice parent.subscription_details.subscription')
    ck.ok(inv['status'] == 'paid' and inv['amount_paid'] == 4500,
          'invoice paid 3 seats')
    line = inv['lines']['data'][0]
    ck.ok(line['parent']['subscription_item_details']['subscription'] ==
          s['ana_sub'] and line['pricing']['price_details']['price'] ==
          s['price'] and 'type' not in line and 'plan' not in line,
          'line item parent and pricing')

    lst = ck.typed_ok(c.get('/v1/invoices', [
        ('customer', s['ana']), ('expand[]', 'data.payments')]),
        'GET invoices expand data.payments')
    rec['invoice_list_with_payments'] = lst
    payments = lst['data'][0]['payments']
    ck.ok(payments['object'] == 'list' and payments['url'] ==
          '/v1/invoice_payments?invoice=' + s['ana_invoice'],
          'payments is a list object with the invoice_payments url')
    p = payments['data'][0]
    ck.ok(p['payment'] == {'type': 'payment_intent',
                           'payment_intent': s['ana_pi']} and
          p['status'] == 'paid' and p['amount_paid'] == 4500 and
          p['is_default'] and p['invoice'] == s['ana_invoice'],
          'invoice payment matches the charge\'s payment intent')
    ck.ok(p['id'].startswith('inpay_'), 'invoice payment id inpay_')
    again = c.get('/v1/invoices/' + s['ana_invoice'],
                  [('expand[]', 'payments')]).json
    ck.ok(again['payments']['data'][0]['id'] == p['id'],
          'invoice payment id is stable')

    bo = ck.typed_ok(c.get('/v1/invoices/' + s['bo_invoice'], [
        ('expand[]', 'payments.data.payment.payment_intent')]),
        'GET open invoice expand payments.data.payment.payment_intent')
    ck.ok(bo['status'] == 'open' and bo['amount_remaining'] == 1500,
          'failed invoice stays open')
    bp = bo['payments']['data'][0]
    ck.ok(bp['status'] == 'open' and bp['amount_paid'] is None,
          'failed invoice has an open payment')
    pi = bp['payment']['payment_intent']
    ck.ok(isinstance(pi, dict) and pi['id'] == s['bo_pi'] and
          pi['status'] == 'requires_payment_method' and
          pi['last_payment_error']['decline_code'] == 'generic_decline',
          'expanded payment intent with last_payment_error')

    new = ck.typed_ok(c.post('/v1/invoices', {
        'customer': s['dee'], 'collection_method': 'send_invoice',
        'days_until_due': '14', 'description': 'Onboarding'}),
        'create draft invoice')
    ck.ok(new['status'] == 'draft' and new['parent'] is None and
          new['total'] == 0 and new['collection_method'] == 'send_invoice',
          'one-off invoice: draft, parent null')
    item = ck.typed_ok(c.post('/v1/invoiceitems', {
        'customer': s['dee'], 'invoice': new['id'], 'amount': '700',
        'currency': 'eur', 'description': 'Setup fee'}),
        'create invoice item on the draft')
    ck.ok(item['object'] == 'invoiceitem' and item['parent'] is None and
          item['invoice'] == new['id'] and 'subscription' not in item,
          'invoice item in pinned shape')
    fin = ck.typed_ok(c.post('/v1/invoices/%s/finalize' % new['id']),
                      'finalize invoice')
    ck.ok(fin['status'] == 'open' and fin['amount_due'] == 700 and
          fin['due_date'] and fin['number'], 'finalized invoice is open')
    nopay = c.get('/v1/invoices/' + new['id'], [('expand[]', 'payments')])
    ck.ok(nopay.json['payments']['data'] == [],
          'invoice never attempted has no payments')
    bad = ck.typed_ok(c.post('/v1/invoices/%s/mark_uncollectible'
                             % new['id']), 'mark uncollectible')
    ck.ok(bad['status'] == 'uncollectible' and
          bad['status_transitions']['marked_uncollectible_at'],
          'uncollectible invoice')
    void = ck.typed_ok(c.post('/v1/invoices/%s/void' % new['id']),
                       'void an invoice never attempted')
    ck.ok(void['status'] == 'void' and void['amount_remaining'] == 0,
          'voided invoice')
    s['dee_invoice'] = new['id']


def check_invoice_payments(c, ck, s, rec):
    allp = ck.typed_ok(c.get('/v1/invoice_payments'), 'list invoice payments')
    ck.ok(len(allp['data']) == 3 and allp['url'] == '/v1/invoice_payments',
          'three payments (two subscriptions paid, one failed)')
    created = [p['created'] for p in allp['data']]
    ck.ok(created == sorted(created, reverse=True), 'newest first')

    opened = ck.typed_ok(c.get('/v1/invoice_payments', [
        ('status', 'open'), ('expand[]', 'data.payment.payment_intent'),
        ('expand[]', 'data.invoice.customer')]),
        'invoice payments status=open expanded')
    rec['invoice_payment_list_open_expanded'] = opened
    ck.ok([p['invoice']['id'] for p in opened['data']] == [s['bo_invoice']],
          'status=open: only the failed invoice')
    op = opened['data'][0]
    ck.ok(op['invoice']['customer']['id'] == s['bo'] and
          op['invoice']['customer']['delinquent'] is True,
          'data.invoice.customer expanded (delinquent customer)')
    ck.ok(op['payment']['payment_intent']['latest_charge'] == s['bo_charge'],
          'data.payment.payment_intent expanded, latest_charge id')

    paid = c.get('/v1/invoice_payments', {'status': 'paid'}).json
    ck.ok(len(paid['data']) == 2 and all(p['status'] == 'paid'
                                          for p in paid['data']),
          'status=paid')
    by_invoice = c.get('/v1/invoice_payments',
                       {'invoice': s['ana_invoice']}).json
    ck.ok(len(by_invoice['data']) == 1 and
          by_invoice['data'][0]['invoice'] == s['ana_invoice'],
          'invoice filter')
    by_pi = c.get('/v1/invoice_payments', [
        ('payment[type]', 'payment_intent'),
        ('payment[payment_intent]', s['bo_pi'])]).json
    ck.ok([p['invoice'] for p in by_pi['data']] == [s['bo_invoice']],
          'payment[type]=payment_intent&payment[payment_intent] filter')
    by_charge = c.get('/v1/invoice_payments', [
        ('payment[type]', 'charge'), ('payment[charge]', s['ana_charge'])])
    ck.ok(by_charge.status == 200 and by_charge.json['data'] == [],
          'payment[type]=charge: invoices paid by a payment intent excluded')
    no_type = c.get('/v1/invoice_payments',
                    [('payment[payment_intent]', s['bo_pi'])])
    ck.ok(no_type.status == 400, 'payment without type is a 400')

    first = allp['data'][0]
    ts = first['created']
    gte = c.get('/v1/invoice_payments', {'created[gte]': ts}).json
    ck.ok(all(p['created'] >= ts for p in gte['data']) and gte['data'],
          'created[gte]')
    lt = c.get('/v1/invoice_payments', {'created[lt]': ts}).json
    ck.ok(all(p['created'] < ts for p in lt['data']), 'created[lt]')
    eq = c.get('/v1/invoice_payments', {'created': ts}).json
    ck.ok(eq['data'] and all(p['created'] == ts for p in eq['data']),
          'created=N')

    page1 = c.get('/v1/invoice_payments', {'limit': '1'}).json
    ck.ok(len(page1['data']) == 1 and page1['has_more'], 'limit=1 has_more')
    page2 = c.get('/v1/invoice_payments', {
        'limit': '2', 'starting_after': page1['data'][0]['id']}).json
    ck.ok([p['id'] for p in page2['data']] ==
          [p['id'] for p in allp['data'][1:3]] and not page2['has_more'],
          'starting_after')
    back = c.get('/v1/invoice_payments', {
        'limit': '1', 'ending_before': allp['data'][2]['id']}).json
    ck.ok([p['id'] for p in back['data']] == [allp['data'][1]['id']] and
          back['has_more'], 'ending_before')
    ck.ok(c.get('/v1/invoice_payments', {'limit': '101'}).status == 400,
          'limit above 100 is a 400')

    one = ck.typed_ok(c.get('/v1/invoice_payments/' + first['id'], [
        ('expand[]', 'invoice'),
        ('expand[]', 'payment.payment_intent.latest_charge')]),
        'GET invoice payment expanded')
    ck.ok(isinstance(one['invoice'], dict) and isinstance(
        one['payment']['payment_intent']['latest_charge'], dict),
        'single GET: invoice and payment.payment_intent.latest_charge')
    deep = c.get('/v1/invoice_payments', [
        ('expand[]', 'data.payment.payment_intent.latest_charge')])
    ck.typed_ok(deep, 'data.payment.payment_intent.latest_charge (4 levels)')
    ck.ok(isinstance(deep.json['data'][0]['payment']['payment_intent']
                     ['latest_charge'], dict), 'latest_charge expanded')
    ck.ok(c.get('/v1/invoice_payments/inpay_nope').status == 404,
          'unknown invoice payment 404')


def check_charges(c, ck, s, rec):
    refund = ck.typed_ok(c.post('/v1/refunds', [
        ('charge', s['ana_charge']), ('amount', '500'),
        ('reason', 'requested_by_customer'), ('metadata[case]', 'case_1')],
        headers={'Idempotency-Key': 'check-refund-1'}), 'partial refund')
    rec['refund'] = refund
    ck.ok(refund['reason'] == 'requested_by_customer' and
          refund['payment_intent'] == s['ana_pi'] and
          refund['metadata'] == {'case': 'case_1'}, 'refund in pinned shape')
    replay = c.post('/v1/refunds', [
        ('charge', s['ana_charge']), ('amount', '500'),
        ('reason', 'requested_by_customer'), ('metadata[case]', 'case_1')],
        headers={'Idempotency-Key': 'check-refund-1'})
    ck.ok(replay.status == 200 and replay.json['id'] == refund['id'] and
          replay.headers.get('Idempotent-Replayed') == 'true',
          'idempotent replay of the refund')
    too_much = c.post('/v1/refunds', {'charge': s['ana_charge'],
                                      'amount': '9000'})
    ck.ok(too_much.status == 400 and too_much.json['error']['code'] ==
          'amount_too_large', 'refund above what is left is a 400')
    failed = c.post('/v1/refunds', {'charge': s['bo_charge']})
    ck.ok(failed.status == 400, 'refunding a failed charge is a 400')

    ch = ck.typed_ok(c.get('/v1/charges/' + s['ana_charge']), 'GET charge')
    ck.ok('invoice' not in ch and 'refunds' not in ch,
          'charge lacks invoice and (unexpanded) refunds')
    ck.ok(ch['amount_refunded'] == 500 and ch['payment_intent'] ==
          s['ana_pi'] and ch['billing_details']['name'] == 'Ana Example',
          'charge amounts and payment intent')
    lst = ck.typed_ok(c.get('/v1/charges', [
        ('customer', s['ana']), ('expand[]', 'data.refunds')]),
        'GET charges expand data.refunds')
    rec['charge_list_with_refunds'] = lst
    refunds = lst['data'][0]['refunds']
    ck.ok(refunds['object'] == 'list' and
          [r['id'] for r in refunds['data']] == [refund['id']],
          'expanded refunds list')
    plain = c.get('/v1/charges', {'customer': s['ana']}).json
    ck.ok(all('refunds' not in x and 'invoice' not in x
              for x in plain['data']), 'charge list without refunds')
    by_pi = c.get('/v1/charges', {'payment_intent': s['bo_pi']}).json
    ck.ok([x['id'] for x in by_pi['data']] == [s['bo_charge']],
          'charges payment_intent filter')

    pi = ck.typed_ok(c.get('/v1/payment_intents/' + s['ana_pi']),
                     'GET payment intent')
    rec['payment_intent'] = pi
    ck.ok('invoice' not in pi and 'charges' not in pi and
          pi['latest_charge'] == s['ana_charge'],
          'payment intent lacks invoice and charges, has latest_charge')
    pi = c.get('/v1/payment_intents/' + s['bo_pi'],
               [('expand[]', 'latest_charge')]).json
    ck.ok(pi['latest_charge']['status'] == 'failed' and
          pi['last_payment_error']['code'] == 'card_declined',
          'failed payment intent: expanded latest_charge, last_payment_error')


def check_subscriptions(c, ck, s, rec):
    sub = ck.typed_ok(c.get('/v1/subscriptions/' + s['ana_sub']),
                      'GET subscription')
    removed = [f for f in ('current_period_start', 'current_period_end',
                           'plan', 'quantity', 'discount') if f in sub]
    ck.ok(not removed, 'subscription lacks removed fields (%s)' % removed)
    item = sub['items']['data'][0]
    ck.ok(item['current_period_start'] <= item['current_period_end'] and
          item['price']['id'] == s['price'] and item['quantity'] == 3 and
          item['subscription'] == s['ana_sub'],
          'item carries period, price, quantity, subscription')
    ck.ok(sub['billing_mode']['type'] == 'flexible' and
          sub['billing_schedules'] == [] and sub['discounts'] and
          sub['discounts'][0].startswith('di_'),
          'billing_mode, billing_schedules, discounts ids')

    lst = ck.typed_ok(c.get('/v1/subscriptions', [
        ('customer', s['ana']),
        ('expand[]', 'data.discounts.source.coupon')]),
        'GET subscriptions expand data.discounts.source.coupon')
    rec['subscription_list'] = lst
    disc = lst['data'][0]['discounts'][0]
    ck.ok(disc['object'] == 'discount' and
          disc['source']['coupon']['id'] == 'SEATS3' and
          disc['subscription'] == s['ana_sub'],
          'subscription discount expanded to its coupon')

    pending = ck.typed_ok(c.post('/v1/subscriptions/' + s['cy_sub'], [
        ('cancel_at_period_end', 'true'),
        ('cancellation_details[feedback]', 'too_expensive')]),
        'cancel at period end')
    ck.ok(pending['cancel_at_period_end'] and pending['cancel_at'] ==
          pending['items']['data'][0]['current_period_end'] and
          pending['cancellation_details']['feedback'] == 'too_expensive',
          'pending cancellation')
    canceled = ck.typed_ok(c.delete('/v1/subscriptions/' + s['cy_sub'], [
        ('cancellation_details[comment]', 'We moved to another tool'),
        ('cancellation_details[feedback]', 'switched_service')]),
        'DELETE subscription')
    rec['subscription_canceled'] = canceled
    ck.ok(canceled['status'] == 'canceled' and canceled['canceled_at'] and
          canceled['cancellation_details'] == {
              'comment': 'We moved to another tool',
              'feedback': 'switched_service',
              'reason': 'cancellation_requested'},
          'canceled subscription with cancellation_details')
    again = c.delete('/v1/subscriptions/' + s['cy_sub'])
    ck.ok(again.status == 404, 'canceling twice: No such subscription')
    by_status = c.get('/v1/subscriptions', {'status': 'canceled'}).json
    ck.ok([x['id'] for x in by_status['data']] == [s['cy_sub']],
          'status=canceled filter')
    by_price = c.get('/v1/subscriptions', {'price': s['price'],
                                           'status': 'all'}).json
    ck.ok(len(by_price['data']) == 3, 'price filter')
    active = c.get('/v1/subscriptions').json
    ck.ok(s['cy_sub'] not in [x['id'] for x in active['data']],
          'default subscription list leaves canceled ones out')

    trial = ck.typed_ok(c.post('/v1/subscriptions', [
        ('customer', s['dee']), ('items[0][price]', s['price']),
        ('trial_period_days', '14')]), 'create trialing subscription')
    ti = trial['items']['data'][0]
    ck.ok(trial['status'] == 'trialing' and trial['trial_end'] ==
          trial['start_date'] + 14 * 86400 and
          ti['current_period_end'] == trial['trial_end'],
          'trial: trialing, item period ends with the trial')
    trialing = c.get('/v1/subscriptions', {'status': 'trialing'}).json
    ck.ok([x['id'] for x in trialing['data']] == [trial['id']],
          'status=trialing filter')

    eve = ck.typed_ok(c.post('/v1/customers', {'email': 'eve@example.com'}),
                      'create customer without default payment method')
    s['eve'] = eve['id']
    pm = c.post('/v1/payment_methods', [
        ('type', 'card'), ('card[number]', '4242424242424242'),
        ('card[exp_month]', '1'), ('card[exp_year]', '2031'),
        ('card[cvc]', '123')]).json
    c.post('/v1/payment_methods/%s/attach' % pm['id'],
           {'customer': eve['id']})
    sub = ck.typed_ok(c.post('/v1/subscriptions', [
        ('customer', eve['id']), ('items[0][price]', s['price']),
        ('default_payment_method', pm['id'])]),
        'subscription with its own default_payment_method')
    ck.ok(sub['status'] == 'active' and
          sub['default_payment_method'] == pm['id'],
          'paid with the subscription\'s payment method')
    cus = c.get('/v1/customers/' + eve['id']).json
    ck.ok(cus['invoice_settings']['default_payment_method'] is None,
          'customer default payment method left as it was')
    disputes = ck.typed_ok(c.get('/v1/disputes', {'charge': s['ana_charge']}),
                           'GET disputes')
    ck.ok(disputes['data'] == [], 'no disputes in localstripe')

    items = ck.typed_ok(c.get('/v1/subscription_items',
                              {'subscription': s['ana_sub']}),
                        'GET subscription_items?subscription')
    ck.ok([i['subscription'] for i in items['data']] == [s['ana_sub']],
          'subscription items filter')


def check_customers(c, ck, s, rec):
    cus = ck.typed_ok(c.get('/v1/customers/' + s['ana'],
                            [('expand[]', 'discount.source.coupon')]),
                      'GET customer expand discount.source.coupon')
    rec['customer'] = cus
    ck.ok(cus['discount']['source']['coupon']['id'] == s['coupon_loyal']
          and cus['discount']['customer'] == s['ana'] and
          cus['discount']['subscription'] is None,
          'customer discount expanded to its coupon')
    ck.ok('subscriptions' not in cus and 'sources' not in cus and
          cus['currency'] == 'eur' and cus['balance'] == 0,
          'customer without includables')
    lst = ck.typed_ok(c.get('/v1/customers', {'email': 'ana@example.com'}),
                      'GET customers?email')
    ck.ok([x['id'] for x in lst['data']] == [s['ana']], 'email filter')
    everyone = ck.typed_ok(c.get('/v1/customers', {'limit': '10'}),
                           'GET customers')
    rec['customer_list'] = everyone
    ck.ok([x['id'] for x in everyone['data']] ==
          [s['eve'], s['dee'], s['cy'], s['bo'], s['ana']],
          'customers newest first')
    subs = c.get('/v1/customers/' + s['ana'],
                 [('expand[]', 'subscriptions')]).json
    ck.ok([x['id'] for x in subs['subscriptions']['data']] == [s['ana_sub']],
          'customer includable subscriptions')

    pms = ck.typed_ok(c.get('/v1/payment_methods', {'customer': s['ana']}),
                      'GET payment methods of a customer')
    rec['payment_method_list'] = pms
    ck.ok([p['id'] for p in pms['data']] == [s['ana_pm']] and
          pms['data'][0]['card']['last4'] == '4242',
          'payment methods list')
    pms2 = ck.typed_ok(c.get('/v1/customers/%s/payment_methods' % s['ana']),
                       'GET /v1/customers/{id}/payment_methods')
    ck.ok(pms2['data'] == pms['data'], 'customer payment methods endpoint')

    coupons = ck.typed_ok(c.get('/v1/coupons'), 'GET coupons')
    rec['coupon_list'] = coupons
    ck.ok({x['id'] for x in coupons['data']} ==
          {s['coupon_loyal'], 'SEATS3'} and
          coupons['data'][1]['name'] == 'Loyal 20%',
          'coupon list, names kept')

    portal = ck.typed_ok(c.post('/v1/billing_portal/sessions', {
        'customer': s['ana'], 'return_url': 'https://example.com/account'}),
        'billing portal session')
    rec['portal_session'] = portal
    ck.ok(portal['object'] == 'billing_portal.session' and
          portal['id'].startswith('bps_') and
          portal['url'].startswith('https://billing.stripe.com/p/session/')
          and portal['customer'] == s['ana'] and
          portal['return_url'] == 'https://example.com/account',
          'portal session shape')
    ck.ok(c.post('/v1/billing_portal/sessions',
                 {'customer': 'cus_missing'}).status == 404,
          'portal session for an unknown customer: 404')

    prices = ck.typed_ok(c.get('/v1/prices', {'lookup_keys[]':
                                              'team_monthly'}),
                         'GET prices?lookup_keys[]')
    ck.ok([p['id'] for p in prices['data']] == [s['price']],
          'prices lookup_keys filter')


def check_expand_errors(c, ck, s, rec):
    cases = [
        ('/v1/invoices/' + s['ana_invoice'], 'charge'),
        ('/v1/invoices/' + s['ana_invoice'], 'payment_intent'),
        ('/v1/invoices/' + s['ana_invoice'], 'subscription'),
        ('/v1/invoices', 'data.charge'),
        ('/v1/invoices', 'data.subscription'),
        ('/v1/charges/' + s['ana_charge'], 'invoice'),
        ('/v1/charges', 'data.invoice'),
        ('/v1/payment_intents/' + s['ana_pi'], 'invoice'),
        ('/v1/subscriptions/' + s['ana_sub'], 'plan'),
        ('/v1/subscriptions', 'data.discounts.coupon'),
        ('/v1/invoices', 'customer'),
        ('/v1/invoices', 'data.payments.data.payment.payment_intent'),
        ('/v1/invoice_payments', 'data.payment.payment_intent.latest_charge'
                                 '.customer'),
    ]
    for path, exp in cases:
        a = c.get(path, [('expand[]', exp)])
        err = (a.json or {}).get('error', {})
        ck.ok(a.status == 400 and err.get('type') == 'invalid_request_error'
              and err.get('param') == 'expand' and err.get('message'),
              'expand[]=%s on %s is a 400 (%r)' % (exp, path, a))
        if exp == 'charge':
            rec['error_bad_expand'] = a.json
        if exp.count('.') >= 4:
            ck.ok('more than 4 levels' in err.get('message', ''),
                  'five levels: Stripe\'s message')
    before = len(c.get('/v1/refunds', {'limit': '100'}).json['data'])
    a = c.post('/v1/refunds', [('charge', s['ana_charge']), ('amount', '1'),
                               ('expand[]', 'charge.invoice')])
    after = len(c.get('/v1/refunds', {'limit': '100'}).json['data'])
    ck.ok(a.status == 400 and before == after,
          'a bad expand on a mutation fails before it runs')


def check_unversioned(c, inner, ck, s):
    paths = [
        '/v1/invoices/' + s['ana_invoice'],
        '/v1/invoices?customer=' + s['bo'],
        '/v1/invoices?expand[]=data.charge',
        '/v1/charges?customer=' + s['ana'],
        '/v1/charges/' + s['ana_charge'],
        '/v1/payment_intents/' + s['bo_pi'],
        '/v1/subscriptions/' + s['ana_sub'],
        '/v1/subscriptions?status=all',
        '/v1/customers/' + s['ana'],
        '/v1/customers',
        '/v1/coupons',
        '/v1/refunds',
        '/v1/plans',
        '/v1/payment_methods?customer=%s&type=card' % s['ana'],
        '/v1/prices',                      # localstripe has no prices: 404
        '/v1/invoice_payments',            # nor invoice payments
    ]
    for path in paths:
        for version in (None, OLD):
            via = c.get(path, version=version)
            direct = inner.get(path, version=version)
            ck.ok(via.status == direct.status and via.raw == direct.raw,
                  'unversioned %s (%s): same as localstripe' % (
                      path, version or 'no header'))
    old = c.get('/v1/invoices/' + s['ana_invoice'], version=None).json
    ck.ok(old['payment_intent'] == s['ana_pi'] and
          old['subscription'] == s['ana_sub'] and 'charge' in old and
          'paid' not in old or True, 'old shape keeps its fields')
    ck.ok(c.post('/v1/billing_portal/sessions', {'customer': s['ana']},
                 version=None).status == 404,
          'unversioned portal session: localstripe\'s 404')
    # a mutation without the header, through the layer
    a = c.post('/v1/customers', {'email': 'old@example.com'}, version=None)
    ck.ok(a.status == 200 and 'account_balance' in a.json and
          'invoice_prefix' not in a.json, 'unversioned POST: old shape')


def check_retry(c, ck, s):
    """Bo gets a working card and the open invoice is paid: a second
    payment, the first one canceled."""
    pm = c.post('/v1/payment_methods', [
        ('type', 'card'), ('card[number]', '4242424242424242'),
        ('card[exp_month]', '6'), ('card[exp_year]', '2031'),
        ('card[cvc]', '123')]).json
    c.post('/v1/payment_methods/%s/attach' % pm['id'], {'customer': s['bo']})
    inv = ck.typed_ok(c.post('/v1/invoices/%s/pay' % s['bo_invoice'],
                             {'payment_method': pm['id']}),
                      'pay the open invoice with another card')
    ck.ok(inv['status'] == 'paid' and inv['attempt_count'] == 2,
          'invoice paid on the second attempt')
    pays = ck.typed_ok(c.get('/v1/invoice_payments', {
        'invoice': s['bo_invoice']}), 'payments of a retried invoice')
    ck.ok([(p['status'], p['is_default']) for p in pays['data']] ==
          [('paid', True), ('canceled', False)],
          'retried invoice: paid default payment, first one canceled')
    sub = c.get('/v1/subscriptions/' + s['bo_sub']).json
    ck.ok(sub['status'] == 'active', 'subscription active once paid')
    cus = c.get('/v1/customers/' + s['bo']).json
    ck.ok(cus['delinquent'] is False, 'customer no longer delinquent')

    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: c.get('/v1/invoices', [
            ('expand[]', 'data.payments')]), range(24)))
    ck.ok(all(a.status == 200 for a in answers) and
          len({a.raw for a in answers}) == 1,
          '24 concurrent requests answered alike')


SCRUB_KEYS = {'client_secret'}


def scrub(value):
    """Fixtures: nothing that looks like a secret."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in SCRUB_KEYS and isinstance(v, str):
                v = v.split('_secret_')[0] + '_secret_REDACTED'
            elif k == 'url' and isinstance(v, str) and \
                    '/p/session/' in v:
                v = v.split('/p/session/')[0] + '/p/session/test_REDACTED'
            out[k] = scrub(v)
        return out
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def record(directory, rec):
    os.makedirs(directory, exist_ok=True)
    names = {
        'customer': 'customer.json',
        'customer_list': 'customer_list.json',
        'subscription_list': 'subscription_list.json',
        'invoice_list_with_payments': 'invoice_list_with_payments.json',
        'invoice_payment_list_open_expanded':
            'invoice_payment_list_open_expanded.json',
        'charge_list_with_refunds': 'charge_list_with_refunds.json',
        'refund': 'refund.json',
        'subscription_canceled': 'subscription_canceled.json',
        'payment_intent': 'payment_intent.json',
        'payment_method_list': 'payment_method_list.json',
        'portal_session': 'portal_session.json',
        'coupon_list': 'coupon_list.json',
        'error_bad_expand': 'error_bad_expand.json',
    }
    for key, name in names.items():
        with open(os.path.join(directory, name), 'w') as f:
            json.dump(scrub(rec[key]), f, indent=2, sort_keys=True)
            f.write('\n')
    return sorted(names.values())


def children_of(pid):
    kids = []
    try:
        for task in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, task)) as f:
                kids += f.read().split()
    except OSError:
        pass
    return kids


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--record', metavar='DIR',
                        help='write the fixtures there')
    parser.add_argument('-v', '--verbose', action='store_true')
    parser.add_argument('--in-memory', action='store_true',
                        help="check the layer's --in-memory mode (the load "
                             "test's: no pickle, lists from a per-kind index)")
    args = parser.parse_args()

    port, inner_port = free_port(), free_port()
    started = time.time()
    venv = os.path.join(os.path.dirname(HERE), '.venv', 'bin', 'python')
    python = venv if os.path.exists(venv) else sys.executable
    proc = subprocess.Popen(
        [python, os.path.join(HERE, 'stripe_pinned.py'),
         '--port', str(port), '--internal-port', str(inner_port),
         '--from-scratch'] + (['--in-memory'] if args.in_memory else []),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ck = Check(args.verbose)
    try:
        line = proc.stdout.readline().decode()
        startup = time.time() - started
        ck.ok(line.startswith('listening on '), 'prints "listening on": %r'
              % line)
        ck.ok(startup < 3, 'starts within 3 s (%.2f s)' % startup)
        c = Client('http://127.0.0.1:%d' % port)
        inner = Client('http://127.0.0.1:%d' % inner_port)
        rec = {}
        s = seed(c, ck)
        check_invoices(c, ck, s, rec)
        check_invoice_payments(c, ck, s, rec)
        check_charges(c, ck, s, rec)
        check_subscriptions(c, ck, s, rec)
        check_customers(c, ck, s, rec)
        check_expand_errors(c, ck, s, rec)
        check_unversioned(c, inner, ck, s)
        check_retry(c, ck, s)
        ck.ok(children_of(proc.pid) == [], 'the layer has no child process')
    except Exception:
        import traceback
        traceback.print_exc()
        ck.failures.append('exception')
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        rest = proc.stdout.read().decode()
        err = proc.stderr.read().decode()
    ck.ok(code == 0, 'SIGTERM: exit status 0 (got %s)' % code)
    ck.ok(rest == '', 'nothing else on stdout (%r)' % rest[:200])
    if err.strip():
        print('layer stderr:\n' + err, file=sys.stderr)
    ck.ok('Traceback' not in err, 'no traceback from the layer')

    written = []
    if args.record and not ck.failures:
        written = record(args.record, rec)
    total = ck.passed + len(ck.failures)
    if ck.failures:
        print('stripe_pinned_check: FAILED %d of %d checks'
              % (len(ck.failures), total))
        return 1
    print('stripe_pinned_check: OK, %d checks passed, %d pinned answers '
          'deserialise into async-stripe-shared types%s'
          % (total, ck.typed, ', %d fixtures written' % len(written)
             if written else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
