#!/usr/bin/env python3
"""stripe_pinned: localstripe answering in a pinned Stripe API version's shape.

What it is
----------
A test stand-in for Stripe.  localstripe (PyPI `localstripe`, the version in
./.venv) keeps the data and does the payments, but it answers in Stripe's
pre-2022 shape.  This layer runs localstripe's aiohttp application inside the
same process and event loop on an internal loopback port, serves
127.0.0.1:PORT itself, forwards every request to it and, for requests that
name a recent API version, rewrites requests and answers into the shape of
PINNED_VERSION (the version the bot sends in `Stripe-Version`).  It is written
from Stripe's changelog and API reference (and async-stripe's types generated
for the pinned version), not from the bot's code.

    .venv/bin/python scripts/stripe_pinned.py --port 8420 [--from-scratch] [--in-memory]

  * no `Stripe-Version` header, or one older than 2025-03-31: the request is
    forwarded as it came and localstripe's answer is returned unchanged;
  * `Stripe-Version` >= 2025-03-31 (date prefix compared): every object of
    the answer, wherever it is (top level, list `data`, expanded fields, the
    answers of mutations) is in the pinned shape; `expand[]` is checked and
    done here (fields the version lacks, and paths deeper than four levels,
    are a 400 in Stripe's error shape); list endpoints page newest first with
    `limit` (1-100, default 10), `starting_after`, `ending_before` and filter
    on `created`; errors from localstripe pass through unchanged.
  * one process: the harness may SIGKILL it, so nothing else is spawned.
    SIGTERM/SIGINT stop it cleanly.  `--from-scratch` is localstripe's: start
    with an empty store (otherwise localstripe loads /tmp/localstripe.pickle;
    it writes that file after every change unless `--in-memory`).
  * `--in-memory`: for a store of thousands of objects (the load test,
    benches/load).  localstripe pickles its whole store to
    /tmp/localstripe.pickle on every change and lists an object kind by
    scanning every object: both O(store) per request, which holds it under
    ten refunds a second with a few thousand customers.  With the flag the
    file is never written, and lists (localstripe's and this layer's) read a
    per-kind index kept by the store itself, in the same order.

Stripe changelog entries implemented (pinned: 2026-09-30.endive)
----------------------------------------------------------------
  2022-11-15        PaymentIntent: no `charges` list; `latest_charge` instead.
  2022-11-15        Charge: `refunds` only when expanded (expand[]=refunds).
  2025-03-31.basil  Invoice: no charge/payment_intent/paid/paid_out_of_band;
                    its payments are InvoicePayments (`payments`, includable,
                    and GET /v1/invoice_payments[/{id}]).
  2025-03-31.basil  Charge, PaymentIntent: no `invoice`.
  2025-03-31.basil  Invoice: `parent.subscription_details` replaces
                    `subscription`, `subscription_details`, `quote`.
  2025-03-31.basil  Line items: `parent`, `pricing` replace type/price/plan,
                    subscription, subscription_item, invoice_item, proration.
  2025-03-31.basil  Subscription: current_period_start/end move to its items.
  2025-03-31.basil  Stackable discounts: `discounts` (array) and the
                    `discounts[N][coupon]` param replace `coupon`/`discount`.
  2025-06-30.basil  Subscription: `billing_mode` is a hash `{type, ...}`.
  2025-09-30.clover Subscription: flexible billing mode is the default.
  2025-09-30.clover Discount: `source {type, coupon}` replaces `coupon`.
  Required fields of async-stripe's types generated for the pinned version
  (e.g. Subscription.billing_schedules) are always present; the check
  (scripts/stripe_pinned_check.py) verifies every answer against them.

Done here because localstripe lacks it (pinned requests only):
  GET /v1/invoice_payments[/{id}]; POST /v1/billing_portal/sessions;
  /v1/prices (kept as localstripe plans); one-off invoices (POST /v1/invoices
  without a subscription, `pending_invoice_items_behavior`), invoice items on
  a draft (`invoice=`), POST /v1/invoices/{id}/finalize and
  /mark_uncollectible, voiding an invoice never attempted;
  GET /v1/customers/{id}/payment_methods, /v1/charges/{id}/refunds; DELETE /v1/customers|subscriptions/{id}/discount;
  GET /v1/disputes (always empty: localstripe has no disputes); trials
  (localstripe leaves them `incomplete`: they are `trialing` here).
Request translations (pinned only): `items[N][price]` -> plan; subscription
`discounts[N][coupon]` (and, to seed the pre-basil state of older accounts,
`coupon` on customers, which Stripe removed in basil),
`default_payment_method`, `cancellation_details`, `collection_method`,
`description`, `billing_mode`, `proration_behavior`; refund `reason` and
Stripe's refund limits (charge_already_refunded, amount_too_large); coupon
ids generated when absent; `Idempotency-Key` replays for POSTs; list filters
localstripe lacks (`created`, invoice `status`, subscription `price`,
`status=trialing|ended`, charge `payment_intent`, price `lookup_keys`...).
What localstripe cannot hold is kept on its objects in a private `_pinned`
dict, so its own (unversioned) answers never show it.

Moving the pinned version
-------------------------
1. Set PINNED_VERSION; read the Stripe changelog entries between the old and
   the new version (docs.stripe.com/changelog) and add each to the list above.
2. Per object kind, fields removed go in REMOVED (they become 400 on expand
   and must not be emitted), new expandable/includable fields in EXPANDABLE,
   and the pin_<kind>() function emits the new shape.
3. Run scripts/stripe_pinned_check.py: it checks every pinned answer against
   the async-stripe types of the new version (update CRATE in
   scripts/stripe_pinned_types.py) and re-records tests/fixtures/stripe-pinned.
"""

import argparse
import asyncio
import hashlib
import json
import logging
import random
import re
import signal
import socket
import string
import sys
import time
import traceback
import urllib.parse
from datetime import datetime

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web
from dateutil.relativedelta import relativedelta
from multidict import MultiDict

from localstripe import resources as R
from localstripe.errors import UserError
from localstripe.server import app as localstripe_app
from localstripe.server import unflatten_data

PINNED_VERSION = '2026-09-30.endive'
FIRST_SHAPED = '2025-03-31'  # first version answered in the pinned shape

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class StripeError(Exception):
    """An error answered in Stripe's shape."""

    def __init__(self, status, message, param=None, code=None,
                 type='invalid_request_error', **extra):
        super().__init__(message)
        self.status = status
        error = {'type': type, 'message': message}
        if param is not None:
            error['param'] = param
        if code is not None:
            error['code'] = code
        error.update(extra)
        self.body = {'error': error}


def missing(kind, id, param=None):
    return StripeError(404, "No such %s: '%s'" % (kind, id), param=param,
                       code='resource_missing')


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def now():
    return int(time.time())


def stable_id(prefix, *parts, n=24):
    digest = hashlib.sha256(':'.join(parts).encode()).hexdigest()
    alphabet = string.ascii_letters + string.digits
    num = int(digest, 16)
    out = ''
    while len(out) < n:
        num, r = divmod(num, len(alphabet))
        out += alphabet[r]
    return prefix + out


def random_token(n=24):
    return ''.join(random.choice(string.ascii_letters + string.digits)
                   for _ in range(n))


def to_int(value, param):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StripeError(400, 'Invalid integer: %s' % value, param=param)


def to_bool(value):
    return str(value).lower() == 'true'


def money(amount, currency):
    zero_decimal = {'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga',
                    'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'}
    symbol = {'usd': '$', 'eur': '€', 'gbp': '£', 'jpy': '¥'}.get(
        currency, currency.upper() + ' ')
    if currency in zero_decimal:
        return '%s%d' % (symbol, amount)
    return '%s%d.%02d' % (symbol, amount // 100, amount % 100)


# ---------------------------------------------------------------------------
# localstripe's store (same process)
# ---------------------------------------------------------------------------

def raw(kind, id):
    """localstripe's object `kind:id`, or None."""
    if not isinstance(id, str):
        return None
    return R.store.get(kind + ':' + id)


def raw_all(kind):
    if INDEX is not None:
        return INDEX.values(kind)
    prefix = kind + ':'
    return [v for k, v in list(R.store.items()) if k.startswith(prefix)]


def hidden(obj):
    """What the layer keeps on a localstripe object (not exported by it)."""
    if obj is None:
        return {}
    if '_pinned' not in obj.__dict__:
        obj._pinned = {}
    return obj._pinned


def store_order():
    if INDEX is not None:
        return INDEX.seq
    return {k: i for i, k in enumerate(R.store.keys())}


class KindIndex:
    """localstripe's store by kind (`customer`, `charge`...), each in
    insertion order, with every key's insertion rank (what store_order()
    compares): kept by the store's own __setitem__/__delitem__ once
    `--in-memory` installs it."""

    def __init__(self):
        self.kinds = {}
        self.seq = {}
        self.next = 0

    def add(self, key, value):
        self.kinds.setdefault(key.split(':', 1)[0], {})[key] = value
        if key not in self.seq:
            self.seq[key] = self.next
            self.next += 1

    def remove(self, key):
        self.kinds.get(key.split(':', 1)[0], {}).pop(key, None)
        self.seq.pop(key, None)

    def values(self, kind):
        return list(self.kinds.get(kind, {}).values())


INDEX = None


def keep_in_memory():
    """`--in-memory`: no pickle after every change; lists read the index."""
    global INDEX
    INDEX = KindIndex()
    for key, value in R.store.items():
        INDEX.add(key, value)

    def setitem(store, key, value):
        dict.__setitem__(store, key, value)
        INDEX.add(key, value)

    def delitem(store, key):
        dict.__delitem__(store, key)
        INDEX.remove(key)

    def list_all(cls, url, limit=None, starting_after=None, **kwargs):
        # localstripe's StripeObject._api_list_all, reading the index.
        if kwargs:
            raise UserError(400, 'Unexpected ' + ', '.join(kwargs.keys()))
        li = R.List(url, limit=limit, starting_after=starting_after)
        li._list = INDEX.values(cls.object)
        return li

    R.Store.__setitem__ = setitem
    R.Store.__delitem__ = delitem
    R.Store.dump_to_disk = lambda store: None
    R.StripeObject._api_list_all = classmethod(list_all)


def raw_payment_method(id):
    if not isinstance(id, str):
        return None
    for kind in ('payment_method', 'card', 'source'):
        obj = raw(kind, id)
        if obj is not None:
            return obj
    return None


def invoices_of_customer(customer_id):
    order = store_order()
    invs = [i for i in raw_all('invoice') if i.customer == customer_id]
    invs.sort(key=lambda i: (i.created, order.get('invoice:' + i.id, 0)))
    return invs


def intents_of_invoice(invoice_id):
    return [pi for pi in raw_all('payment_intent')
            if getattr(pi, 'invoice', None) == invoice_id]


def find_discount(discount_id):
    for kind in ('customer', 'subscription'):
        for obj in raw_all(kind):
            d = hidden(obj).get('discount')
            if d and d['id'] == discount_id:
                return d
    return None


# ---------------------------------------------------------------------------
# Pinned objects, one function per kind.  Each takes localstripe's exported
# dict (its old shape) and returns the pinned shape; nested objects are
# pinned by their own function.  Expansion is done afterwards (expand()).
# ---------------------------------------------------------------------------

def pin_address(a):
    a = a or {}
    return {k: a.get(k) for k in ('city', 'country', 'line1', 'line2',
                                  'postal_code', 'state')}


def pin_billing_details(bd):
    bd = bd or {}
    return {'address': pin_address(bd.get('address')),
            'email': bd.get('email'), 'name': bd.get('name'),
            'phone': bd.get('phone'), 'tax_id': None}


def customer_prefix(customer_id):
    return hashlib.sha1(customer_id.encode()).hexdigest()[:8].upper()


def invoice_number(inv):
    finalized = [i for i in invoices_of_customer(inv.customer)
                 if i.status_transitions.get('finalized_at')]
    if inv not in finalized:
        return None
    return '%s-%04d' % (customer_prefix(inv.customer),
                        finalized.index(inv) + 1)


def invoice_failed_attempt(inv):
    """The failed charge of an invoice's latest payment attempt, or None."""
    pi = raw('payment_intent', getattr(inv, 'payment_intent', None))
    charge = getattr(pi, 'latest_charge', None) if pi else None
    if charge is not None and charge.status == 'failed':
        return charge
    return None


def pin_customer(d):
    if d.get('deleted'):
        return {'id': d['id'], 'object': 'customer', 'deleted': True}
    obj = raw('customer', d['id'])
    h = hidden(obj)
    currency = None
    delinquent = False
    sequence = 1
    if obj is not None:
        subs = [s for s in raw_all('subscription') if s.customer == obj.id]
        invs = invoices_of_customer(obj.id)
        if subs:
            currency = subs[0].items._list[0].plan.currency
        elif invs:
            currency = invs[0].currency
        delinquent = any(i.status == 'open' and invoice_failed_attempt(i)
                         for i in invs)
        sequence = 1 + sum(1 for i in invs
                           if i.status_transitions.get('finalized_at'))
    settings = d.get('invoice_settings') or {}
    return {
        'id': d['id'],
        'object': 'customer',
        'address': pin_address(d['address']) if d.get('address') else None,
        'balance': -(d.get('account_balance') or 0),
        'created': d['created'],
        'currency': currency,
        'default_source': d.get('default_source'),
        'delinquent': delinquent,
        'description': d.get('description'),
        'discount': pin_discount(h['discount']) if h.get('discount') else None,
        'email': d.get('email'),
        'invoice_prefix': customer_prefix(d['id']),
        'invoice_settings': {
            'custom_fields': None,
            'default_payment_method': settings.get('default_payment_method'),
            'footer': None,
            'rendering_options': None,
        },
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'name': d.get('name'),
        'next_invoice_sequence': sequence,
        'phone': d.get('phone'),
        'preferred_locales': d.get('preferred_locales') or [],
        'shipping': d.get('shipping'),
        'tax_exempt': h.get('tax_exempt', 'none'),
        'test_clock': None,
    }


def pin_coupon(d):
    obj = raw('coupon', d['id'])
    h = hidden(obj)
    return {
        'id': d['id'],
        'object': 'coupon',
        'amount_off': d.get('amount_off'),
        'created': d['created'],
        'currency': d.get('currency'),
        'duration': d['duration'],
        'duration_in_months': d.get('duration_in_months'),
        'livemode': False,
        'max_redemptions': d.get('max_redemptions'),
        'metadata': d.get('metadata') or {},
        'name': h.get('name'),
        'percent_off': d.get('percent_off'),
        'redeem_by': d.get('redeem_by'),
        'times_redeemed': d.get('times_redeemed', 0),
        'valid': d.get('valid', True),
    }


def pin_discount(disc):
    """disc: the layer's record {id, coupon, customer, subscription, start,
    end}; the pinned Discount names its coupon under `source`."""
    return {
        'id': disc['id'],
        'object': 'discount',
        'checkout_session': None,
        'customer': disc.get('customer'),
        'end': disc.get('end'),
        'invoice': None,
        'invoice_item': None,
        'promotion_code': None,
        'source': {'type': 'coupon', 'coupon': disc['coupon']},
        'start': disc['start'],
        'subscription': disc.get('subscription'),
        'subscription_item': None,
    }


def pin_card_details(card):
    brand = card.get('brand') or 'visa'
    return {
        'brand': brand,
        'checks': {'address_line1_check': None,
                   'address_postal_code_check': None, 'cvc_check': 'pass'},
        'country': card.get('country'),
        'display_brand': brand,
        'exp_month': card.get('exp_month'),
        'exp_year': card.get('exp_year'),
        'fingerprint': card.get('fingerprint'),
        'funding': card.get('funding') or 'credit',
        'generated_from': None,
        'last4': card.get('last4'),
        'networks': {'available': [brand], 'preferred': None},
        'regulated_status': 'unregulated',
        'three_d_secure_usage': {'supported': True},
        'wallet': None,
    }


def pin_payment_method(d):
    if d.get('object') != 'payment_method':
        return d  # a card_ or src_ source: a PaymentSource, left as it is
    out = {
        'id': d['id'],
        'object': 'payment_method',
        'allow_redisplay': 'unspecified',
        'billing_details': pin_billing_details(d.get('billing_details')),
        'created': d['created'],
        'customer': d.get('customer'),
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'type': d['type'],
    }
    if d['type'] == 'card':
        out['card'] = pin_card_details(d.get('card') or {})
    elif d['type'] == 'sepa_debit':
        s = d.get('sepa_debit') or {}
        out['sepa_debit'] = {
            'bank_code': s.get('bank_code'), 'branch_code': None,
            'country': s.get('country'), 'fingerprint': s.get('fingerprint'),
            'generated_from': None, 'last4': s.get('last4')}
    return out


def pin_product(d):
    return {
        'id': d['id'],
        'object': 'product',
        'active': d.get('active', True),
        'created': d['created'],
        'default_price': None,
        'description': d.get('description'),
        'images': [],
        'livemode': False,
        'marketing_features': [],
        'metadata': d.get('metadata') or {},
        'name': d['name'],
        'package_dimensions': None,
        'shippable': d.get('shippable') if d.get('type') == 'good' else None,
        'statement_descriptor': d.get('statement_descriptor'),
        'tax_code': None,
        'type': d.get('type') or 'service',
        'unit_label': None,
        'updated': d['created'],
        'url': d.get('url'),
    }


def pin_plan(d):
    amount = d.get('amount')
    return {
        'id': d['id'],
        'object': 'plan',
        'active': d.get('active', True),
        'amount': amount,
        'amount_decimal': None if amount is None else str(amount),
        'billing_scheme': d.get('billing_scheme') or 'per_unit',
        'created': d['created'],
        'currency': d['currency'],
        'interval': d['interval'],
        'interval_count': d.get('interval_count') or 1,
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'meter': None,
        'nickname': d.get('nickname'),
        'product': d.get('product'),
        'tiers_mode': d.get('tiers_mode'),
        'transform_usage': None,
        'trial_period_days': d.get('trial_period_days'),
        'usage_type': d.get('usage_type') or 'licensed',
    }


def pin_price(d):
    """A Price from a localstripe plan (Stripe's plans are prices too)."""
    h = hidden(raw('plan', d['id']))
    one_time = h.get('type') == 'one_time'
    per_unit = (d.get('billing_scheme') or 'per_unit') == 'per_unit'
    amount = d.get('amount') if per_unit else None
    return {
        'id': d['id'],
        'object': 'price',
        'active': d.get('active', True),
        'billing_scheme': d.get('billing_scheme') or 'per_unit',
        'created': d['created'],
        'currency': d['currency'],
        'custom_unit_amount': None,
        'livemode': False,
        'lookup_key': h.get('lookup_key'),
        'metadata': d.get('metadata') or {},
        'nickname': d.get('nickname'),
        'product': d.get('product'),
        'recurring': None if one_time else {
            'interval': d['interval'],
            'interval_count': d.get('interval_count') or 1,
            'meter': None,
            'trial_period_days': d.get('trial_period_days'),
            'usage_type': d.get('usage_type') or 'licensed',
        },
        'tax_behavior': h.get('tax_behavior', 'unspecified'),
        'tiers_mode': d.get('tiers_mode'),
        'transform_quantity': None,
        'type': 'one_time' if one_time else 'recurring',
        'unit_amount': amount,
        'unit_amount_decimal': None if amount is None else str(amount),
    }


def pin_tax_rate(d):
    return {
        'id': d['id'],
        'object': 'tax_rate',
        'active': d.get('active', True),
        'country': None,
        'created': d['created'],
        'description': d.get('description'),
        'display_name': d['display_name'],
        'effective_percentage': d['percentage'],
        'flat_amount': None,
        'inclusive': d['inclusive'],
        'jurisdiction': d.get('jurisdiction'),
        'jurisdiction_level': None,
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'percentage': d['percentage'],
        'rate_type': 'percentage',
        'state': None,
        'tax_type': None,
    }


def item_period(item_id, fallback):
    obj = raw('subscription_item', item_id)
    if obj is not None:
        try:
            return obj._current_period()
        except Exception:  # its subscription is gone
            pass
    return fallback


def pin_subscription_item(d, subscription_id=None, fallback_period=None,
                          trial_period=None):
    obj = raw('subscription_item', d['id'])
    sub_id = subscription_id or getattr(obj, '_subscription', None)
    if trial_period is None and subscription_id is None and sub_id:
        sub = raw('subscription', sub_id)
        if sub is not None:
            status, trial_end = subscription_trial(sub._export())
            if status == 'trialing':
                trial_period = {'start': sub.start_date, 'end': trial_end}
    period = trial_period or item_period(
        d['id'], fallback_period or {'start': d['created'],
                                     'end': d['created']})
    return {
        'id': d['id'],
        'object': 'subscription_item',
        'billing_thresholds': None,
        'created': d['created'],
        'current_period_end': period['end'],
        'current_period_start': period['start'],
        'discounts': [],
        'metadata': d.get('metadata') or {},
        'plan': pin_plan(d['plan']),
        'price': pin_price(d['plan']),
        'quantity': d.get('quantity'),
        'subscription': sub_id,
        'tax_rates': [pin_tax_rate(t) for t in d.get('tax_rates') or []],
    }


def cancellation_details(d, h):
    details = {'comment': None, 'feedback': None, 'reason': None}
    if h.get('cancellation_details'):
        details.update(h['cancellation_details'])
    elif d['status'] in ('canceled', 'incomplete_expired'):
        inv = raw('invoice', d.get('latest_invoice'))
        failed = inv is not None and inv.status in ('open', 'void') and (
            d['status'] == 'incomplete_expired' or invoice_failed_attempt(inv))
        details['reason'] = ('payment_failed' if failed
                             else 'cancellation_requested')
    elif d.get('cancel_at_period_end') or d.get('cancel_at'):
        details['reason'] = 'cancellation_requested'
    return details


def subscription_trial(d):
    """(status, trial_end): localstripe never starts trials (a subscription
    created with a trial stays `incomplete` without an invoice, and
    `trial_period_days` leaves `trial_end` empty); Stripe calls it trialing."""
    trial_end = d.get('trial_end')
    if not trial_end and d.get('trial_period_days'):
        trial_end = d['start_date'] + 86400 * int(d['trial_period_days'])
    status = d['status']
    if status == 'incomplete' and trial_end and not d.get('latest_invoice'):
        status = 'trialing'
    return status, trial_end


def pin_subscription(d):
    obj = raw('subscription', d['id'])
    h = hidden(obj)
    items = d['items']['data']
    status, trial_end = subscription_trial(d)
    period = {'start': d.get('current_period_start') or d['start_date'],
              'end': d.get('current_period_end') or d['start_date']}
    trial_period = None
    if status == 'trialing':
        trial_period = period = {'start': d['start_date'], 'end': trial_end}
    first_plan = items[0]['plan'] if items else None
    cancel_at = d.get('cancel_at')
    if d.get('cancel_at_period_end') and not cancel_at:
        cancel_at = period['end']
    canceled_at = d.get('canceled_at') or h.get('canceled_at')
    if not canceled_at and d['status'] == 'canceled':
        canceled_at = d.get('ended_at')
    mode = h.get('billing_mode', 'flexible')
    discount = h.get('discount')
    return {
        'id': d['id'],
        'object': 'subscription',
        'application': None,
        'application_fee_percent': d.get('application_fee_percent'),
        'automatic_tax': {'disabled_reason': None, 'enabled': False,
                          'liability': None},
        'billing_cycle_anchor': d.get('billing_cycle_anchor')
        or period['start'],
        'billing_cycle_anchor_config': None,
        'billing_mode': {
            'flexible': ({'proration_discounts': 'included'}
                         if mode == 'flexible' else None),
            'type': mode,
            'updated_at': None,
        },
        'billing_schedules': [],
        'billing_thresholds': None,
        'cancel_at': cancel_at,
        'cancel_at_period_end': bool(d.get('cancel_at_period_end')),
        'canceled_at': canceled_at,
        'cancellation_details': cancellation_details(d, h),
        'collection_method': h.get('collection_method',
                                   'charge_automatically'),
        'created': d['created'],
        'currency': first_plan['currency'] if first_plan else 'eur',
        'customer': d['customer'],
        'customer_account': None,
        'days_until_due': h.get('days_until_due'),
        'default_payment_method': h.get('default_payment_method'),
        'default_source': None,
        'default_tax_rates': [pin_tax_rate(t)
                              for t in d.get('default_tax_rates') or []],
        'description': h.get('description'),
        'discounts': [discount['id']] if discount else [],
        'ended_at': d.get('ended_at'),
        'invoice_settings': {'account_tax_ids': None,
                             'issuer': {'type': 'self'}},
        'items': {
            'object': 'list',
            'data': [pin_subscription_item(i, d['id'], period, trial_period)
                     for i in items],
            'has_more': False,
            'total_count': len(items),
            'url': '/v1/subscription_items?subscription=' + d['id'],
        },
        'latest_invoice': d.get('latest_invoice'),
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'next_pending_invoice_item_invoice': None,
        'on_behalf_of': None,
        'pause_collection': h.get('pause_collection'),
        'payment_settings': {'payment_method_options': None,
                             'payment_method_types': None,
                             'save_default_payment_method': 'off'},
        'pending_invoice_item_interval': None,
        'pending_setup_intent': None,
        'pending_update': None,
        'schedule': None,
        'start_date': d['start_date'],
        'status': status,
        'test_clock': None,
        'transfer_data': None,
        'trial_end': trial_end,
        'trial_settings': {'end_behavior': {
            'missing_payment_method': 'create_invoice'}},
        'trial_start': d.get('trial_start') or (
            d['start_date'] if trial_end else None),
    }


def charge_outcome(d):
    if d['status'] == 'failed':
        return {'advice_code': 'try_again_later',
                'network_advice_code': None, 'network_decline_code': None,
                'network_status': 'declined_by_network',
                'reason': 'generic_decline', 'risk_level': 'normal',
                'risk_score': 40,
                'seller_message': 'The bank did not return any further '
                                  'details with this decline.',
                'type': 'issuer_declined'}
    return {'advice_code': None, 'network_advice_code': None,
            'network_decline_code': None,
            'network_status': 'approved_by_network', 'reason': None,
            'risk_level': 'normal', 'risk_score': 32,
            'seller_message': 'Payment complete.', 'type': 'authorized'}


def payment_method_details(pm_dict, amount):
    if pm_dict is None:
        return None
    if pm_dict.get('type') == 'sepa_debit':
        s = pm_dict.get('sepa_debit') or {}
        return {'type': 'sepa_debit', 'sepa_debit': {
            'bank_code': s.get('bank_code'), 'branch_code': None,
            'country': s.get('country'), 'expected_debit_date': None,
            'fingerprint': s.get('fingerprint'), 'last4': s.get('last4'),
            'mandate': None}}
    card = pm_dict.get('card') or pm_dict  # a PaymentMethod or a Card
    brand = (card.get('brand') or 'visa').lower()
    return {'type': 'card', 'card': {
        'amount_authorized': amount,
        'authorization_code': None,
        'brand': brand,
        'checks': {'address_line1_check': None,
                   'address_postal_code_check': None, 'cvc_check': 'pass'},
        'country': card.get('country'),
        'exp_month': card.get('exp_month'),
        'exp_year': card.get('exp_year'),
        'fingerprint': card.get('fingerprint'),
        'funding': card.get('funding') or 'credit',
        'installments': None,
        'last4': card.get('last4'),
        'mandate': None,
        'network': brand,
        'network_transaction_id': None,
        'regulated_status': 'unregulated',
        'three_d_secure': None,
        'wallet': None}}


def pin_charge(d):
    pm = raw_payment_method(d.get('payment_method'))
    pm_dict = pm._export() if pm is not None else None
    succeeded = d['status'] == 'succeeded'
    return {
        'id': d['id'],
        'object': 'charge',
        'amount': d['amount'],
        'amount_captured': d['amount'] if succeeded and d.get('captured')
        else 0,
        'amount_refunded': d.get('amount_refunded') or 0,
        'application': None,
        'application_fee': None,
        'application_fee_amount': None,
        'balance_transaction': d.get('balance_transaction'),
        'billing_details': pin_billing_details(
            (pm_dict or {}).get('billing_details')),
        'calculated_statement_descriptor': 'LOCALSTRIPE',
        'captured': bool(d.get('captured')),
        'created': d['created'],
        'currency': d['currency'],
        'customer': d.get('customer'),
        'description': d.get('description'),
        'disputed': False,
        'failure_balance_transaction': None,
        'failure_code': d.get('failure_code'),
        'failure_message': d.get('failure_message'),
        'fraud_details': {},
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'on_behalf_of': None,
        'outcome': charge_outcome(d),
        'paid': bool(d.get('paid')),
        'payment_intent': d.get('payment_intent'),
        'payment_method': d.get('payment_method'),
        'payment_method_details': payment_method_details(pm_dict, d['amount']),
        'receipt_email': d.get('receipt_email'),
        'receipt_number': d.get('receipt_number'),
        'receipt_url': ('https://pay.stripe.com/receipts/payment/test_'
                        + d['id']) if succeeded else None,
        'refunded': bool(d.get('refunded')),
        'review': None,
        'shipping': None,
        'source': None,
        'source_transfer': None,
        'statement_descriptor': d.get('statement_descriptor'),
        'statement_descriptor_suffix': None,
        'status': d['status'],
        'transfer_data': None,
        'transfer_group': None,
    }


def pin_refund(d):
    h = hidden(raw('refund', d['id']))
    charge = raw('charge', d.get('charge'))
    return {
        'id': d['id'],
        'object': 'refund',
        'amount': d['amount'],
        'balance_transaction': d.get('balance_transaction'),
        'charge': d.get('charge'),
        'created': d['created'],
        'currency': d['currency'],
        'description': None,
        'destination_details': None,
        'metadata': d.get('metadata') or {},
        'payment_intent': d.get('payment_intent') or (
            charge.payment_intent if charge is not None else None),
        'reason': h.get('reason'),
        'receipt_number': None,
        'source_transfer_reversal': None,
        'status': d.get('status') or 'succeeded',
        'transfer_reversal': None,
    }


def pin_last_payment_error(err, pi_dict):
    if not err:
        return None
    out = {'type': 'card_error', 'code': err.get('code'),
           'message': err.get('message')}
    if err.get('code') == 'card_declined':
        out['decline_code'] = 'generic_decline'
        out['doc_url'] = 'https://stripe.com/docs/error-codes/card-declined'
        out['advice_code'] = 'try_again_later'
    elif err.get('code') == 'payment_intent_authentication_failure':
        out['type'] = 'invalid_request_error'
        out['doc_url'] = ('https://stripe.com/docs/error-codes/'
                          'payment-intent-authentication-failure')
    if err.get('charge'):
        out['charge'] = err['charge']
    pm = raw('payment_method', pi_dict.get('payment_method'))
    if pm is not None:
        out['payment_method'] = pin_payment_method(pm._export())
        out['payment_method_type'] = pm.type
    return out


def pin_payment_intent(d):
    obj = raw('payment_intent', d['id'])
    h = hidden(obj)
    latest = d.get('latest_charge')
    if isinstance(latest, dict):
        latest = latest['id']
    status = d['status']
    pm = raw_payment_method(d.get('payment_method'))
    description = h.get('description')
    if description is None and getattr(obj, 'invoice', None):
        inv = raw('invoice', obj.invoice)
        description = ('Subscription creation' if inv is not None and
                       billing_reason(inv) == 'subscription_create'
                       else 'Payment for Invoice')
    return {
        'id': d['id'],
        'object': 'payment_intent',
        'amount': d['amount'],
        'amount_capturable': d['amount'] if status == 'requires_capture'
        else 0,
        'amount_received': d['amount'] if status == 'succeeded' else 0,
        'application': None,
        'application_fee_amount': None,
        'automatic_payment_methods': None,
        'canceled_at': h.get('canceled_at') if status == 'canceled' else None,
        'cancellation_reason': (h.get('cancellation_reason')
                                if status == 'canceled' else None),
        'capture_method': d.get('capture_method') or 'automatic',
        'client_secret': d.get('client_secret'),
        'confirmation_method': 'automatic',
        'created': d['created'],
        'currency': d['currency'],
        'customer': d.get('customer'),
        'description': description,
        'excluded_payment_method_types': None,
        'last_payment_error': pin_last_payment_error(
            d.get('last_payment_error'), d),
        'latest_charge': latest,
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'next_action': d.get('next_action'),
        'on_behalf_of': None,
        'payment_method': d.get('payment_method'),
        'payment_method_configuration_details': None,
        'payment_method_options': None,
        'payment_method_types': [getattr(pm, 'type', None) or 'card'],
        'processing': None,
        'receipt_email': None,
        'review': None,
        'setup_future_usage': None,
        'shipping': None,
        'source': None,
        'statement_descriptor': None,
        'statement_descriptor_suffix': None,
        'status': status,
        'transfer_data': None,
        'transfer_group': None,
    }


def billing_reason(inv):
    if not inv.subscription:
        return 'manual'
    first = [i for i in invoices_of_customer(inv.customer)
             if i.subscription == inv.subscription]
    return 'subscription_create' if first and first[0] is inv \
        else 'subscription_cycle'


def pin_line_item(d, invoice_id):
    plan = d.get('plan')
    proration_details = {'credited_items': None}
    if d.get('type') == 'subscription':
        parent = {'type': 'subscription_item_details',
                  'invoice_item_details': None,
                  'subscription_item_details': {
                      'invoice_item': None,
                      'proration': bool(d.get('proration')),
                      'proration_details': proration_details,
                      'subscription': d.get('subscription'),
                      'subscription_item': d.get('subscription_item')}}
    else:
        parent = {'type': 'invoice_item_details',
                  'invoice_item_details': {
                      'invoice_item': d.get('invoice_item'),
                      'proration': bool(d.get('proration')),
                      'proration_details': proration_details,
                      'subscription': d.get('subscription')},
                  'subscription_item_details': None}
    taxes = [pin_tax(t, d['amount']) for t in d.get('tax_amounts') or []]
    return {
        'id': d['id'],
        'object': 'line_item',
        'amount': d['amount'],
        'currency': d['currency'],
        'description': d.get('description'),
        'discount_amounts': [],
        'discountable': True,
        'discounts': [],
        'invoice': invoice_id,
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'parent': parent,
        'period': d['period'],
        'pretax_credit_amounts': [],
        'pricing': {
            'price_details': {'price': plan['id'],
                              'product': plan.get('product')},
            'type': 'price_details',
            'unit_amount_decimal': None if plan.get('amount') is None
            else str(plan['amount']),
        } if plan else None,
        'quantity': d.get('quantity'),
        'subtotal': d['amount'],
        'taxes': taxes,
    }


def pin_tax(t, taxable):
    return {'amount': t['amount'],
            'tax_behavior': 'inclusive' if t.get('inclusive')
            else 'exclusive',
            'tax_rate_details': {'tax_rate': t['tax_rate']},
            'taxability_reason': 'standard_rated',
            'taxable_amount': taxable,
            'type': 'tax_rate_details'}


def pin_invoice(d):
    obj = raw('invoice', d.get('id')) if d.get('id') else None
    status = d.get('status')
    uncollectible_at = hidden(obj).get('uncollectible_at') if obj else None
    if status == 'open' and uncollectible_at:
        status = 'uncollectible'
    sub_id = d.get('subscription')
    sub = raw('subscription', sub_id)
    cus = raw('customer', d.get('customer'))
    transitions = d.get('status_transitions') or {}
    created = d.get('created') or now()
    attempts = len([pi for pi in intents_of_invoice(obj.id)
                    if pi.latest_charge is not None]) if obj else 0
    failed = invoice_failed_attempt(obj) if obj is not None else None
    next_attempt = None
    if status == 'draft':
        next_attempt = created + 3600
    elif status == 'open' and failed is not None:
        next_attempt = failed.created + 3 * 86400
    finalized = transitions.get('finalized_at')
    lines = d.get('lines') or {'data': [], 'url': None}
    h = hidden(obj) if obj is not None else {}
    collection = h.get('collection_method') or d.get('collection_method') \
        or 'charge_automatically'
    auto_advance = status in ('draft', 'open')
    if h.get('auto_advance') is not None:
        auto_advance = to_bool(h['auto_advance']) and auto_advance
    if collection == 'send_invoice':
        next_attempt = None
    invoice_id = d.get('id')
    return {
        'id': invoice_id,
        'object': 'invoice',
        'account_country': 'US',
        'account_name': 'localstripe',
        'account_tax_ids': None,
        'amount_due': d['amount_due'],
        'amount_overpaid': 0,
        'amount_paid': d['amount_paid'],
        'amount_remaining': max(0, d['amount_due'] - d['amount_paid'])
        if status != 'void' else 0,
        'amount_shipping': 0,
        'application': None,
        'attempt_count': attempts,
        'attempted': attempts > 0 or status == 'paid',
        'auto_advance': auto_advance,
        'automatic_tax': {'disabled_reason': None, 'enabled': False,
                          'liability': None, 'provider': None,
                          'status': None},
        'automatically_finalizes_at': None,
        'billing_reason': billing_reason(obj) if obj is not None
        else ('upcoming' if sub_id else 'manual'),
        'collection_method': collection,
        'confirmation_secret': None,
        'created': created,
        'currency': d['currency'],
        'custom_fields': None,
        'customer': d.get('customer'),
        'customer_address': pin_address(cus.address)
        if cus is not None and cus.address else None,
        'customer_email': d.get('customer_email'),
        'customer_name': getattr(cus, 'name', None),
        'customer_phone': getattr(cus, 'phone', None),
        'customer_shipping': None,
        'customer_tax_exempt': 'none',
        'customer_tax_ids': [],
        'default_payment_method': None,
        'default_source': None,
        'default_tax_rates': [pin_tax_rate(t)
                              for t in d.get('default_tax_rates') or []],
        'description': d.get('description'),
        'discounts': [],
        'due_date': to_int(h['due_date'], 'due_date')
        if h.get('due_date') else None,
        'effective_at': finalized,
        'ending_balance': d.get('ending_balance')
        if status != 'draft' else None,
        'footer': None,
        'from_invoice': None,
        'hosted_invoice_url': ('https://invoice.stripe.com/i/test_'
                               + invoice_id)
        if invoice_id and status != 'draft' else None,
        'invoice_pdf': ('https://pay.stripe.com/invoice/test_%s/pdf'
                        % invoice_id)
        if invoice_id and status != 'draft' else None,
        'issuer': {'type': 'self'},
        'last_finalization_error': None,
        'latest_revision': None,
        'lines': {
            'object': 'list',
            'data': [pin_line_item(li, invoice_id) for li in lines['data']],
            'has_more': False,
            'total_count': len(lines['data']),
            'url': lines.get('url') or '/v1/invoices/upcoming/lines',
        },
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'next_payment_attempt': next_attempt,
        'number': invoice_number(obj) if obj is not None else None,
        'on_behalf_of': None,
        'parent': {
            'quote_details': None,
            'subscription_details': {
                'metadata': dict(sub.metadata or {}) if sub else {},
                'subscription': sub_id,
            },
            'type': 'subscription_details',
        } if sub_id else None,
        'payment_settings': {'default_mandate': None,
                             'payment_method_options': None,
                             'payment_method_types': None},
        'period_end': d.get('period_end') or created,
        'period_start': d.get('period_start') or created,
        'post_payment_credit_notes_amount': 0,
        'pre_payment_credit_notes_amount': 0,
        'receipt_number': d.get('receipt_number'),
        'rendering': None,
        'shipping_cost': None,
        'shipping_details': None,
        'starting_balance': d.get('starting_balance') or 0,
        'statement_descriptor': d.get('statement_descriptor'),
        'status': status,
        'status_transitions': {
            'finalized_at': finalized,
            'marked_uncollectible_at': uncollectible_at,
            'paid_at': transitions.get('paid_at'),
            'voided_at': transitions.get('voided_at'),
        },
        'subtotal': d['subtotal'],
        'subtotal_excluding_tax': d['subtotal'],
        'test_clock': None,
        'threshold_reason': None,
        'total': d['total'],
        'total_discount_amounts': [],
        'total_excluding_tax': d['subtotal'],
        'total_pretax_credit_amounts': [],
        'total_taxes': [pin_tax(t, d['subtotal'])
                        for t in d.get('total_tax_amounts') or []],
        'webhooks_delivered_at': d.get('webhooks_delivered_at'),
    }


def invoice_payments_of(inv):
    """The pinned InvoicePayments of a localstripe invoice: one per payment
    attempt (localstripe makes a PaymentIntent per attempt), none when it was
    never attempted.  The latest is the default one."""
    intents = intents_of_invoice(inv.id)
    if inv.payment_intent and inv.payment_intent not in [
            pi.id for pi in intents]:
        pi = raw('payment_intent', inv.payment_intent)
        if pi is not None:
            intents.append(pi)
    intents.sort(key=lambda pi: (pi.id == inv.payment_intent, pi.created))
    out = []
    for i, pi in enumerate(intents):
        default = pi.id == inv.payment_intent
        superseded_at = intents[i + 1].created if i + 1 < len(intents) \
            else None
        out.append(pin_invoice_payment(inv, pi, default, superseded_at))
    charge_id = getattr(inv, '_pinned', {}).get('charge')
    if not intents and charge_id:  # paid by a bare charge
        out.append(pin_invoice_payment(inv, raw('charge', charge_id), True,
                                       None))
    return out


def pin_invoice_payment(inv, payment, is_default, superseded_at):
    transitions = inv.status_transitions
    if payment.object == 'payment_intent':
        succeeded = payment.status == 'succeeded'
        canceled = payment.status == 'canceled'
        ref = {'type': 'payment_intent', 'payment_intent': payment.id}
    else:
        succeeded = payment.status == 'succeeded'
        canceled = False
        ref = {'type': 'charge', 'charge': payment.id}
    if succeeded:
        status = 'paid'
    elif canceled or inv.status == 'void' or not is_default:
        status = 'canceled'
    else:
        status = 'open'
    canceled_at = None
    if status == 'canceled':
        canceled_at = (transitions.get('voided_at') or superseded_at or
                       hidden(payment).get('canceled_at') or payment.created)
    paid_at = None
    if status == 'paid':
        paid_at = transitions.get('paid_at') or payment.created
    return {
        'id': stable_id('inpay_', inv.id, payment.id),
        'object': 'invoice_payment',
        'amount_paid': payment.amount if status == 'paid' else None,
        'amount_requested': payment.amount,
        'created': payment.created,
        'currency': payment.currency,
        'invoice': inv.id,
        'is_default': is_default,
        'livemode': False,
        'payment': ref,
        'status': status,
        'status_transitions': {'canceled_at': canceled_at,
                               'paid_at': paid_at},
    }


def pin_invoice_item(d):
    plan = d.get('plan')
    sub = d.get('subscription')
    return {
        'id': d['id'],
        'object': 'invoiceitem',
        'amount': d['amount'],
        'currency': d['currency'],
        'customer': d['customer'],
        'date': d.get('date') or d['created'],
        'description': d.get('description'),
        'discountable': True,
        'discounts': [],
        'invoice': d.get('invoice'),
        'livemode': False,
        'metadata': d.get('metadata') or {},
        'net_amount': d['amount'],
        'parent': {'type': 'subscription_details',
                   'subscription_details': {'subscription': sub,
                                            'subscription_item': None}}
        if sub else None,
        'period': d.get('period'),
        'pricing': {
            'price_details': {'price': plan['id'],
                              'product': plan.get('product')},
            'type': 'price_details',
            'unit_amount_decimal': None if plan.get('amount') is None
            else str(plan['amount']),
        } if plan else None,
        'proration': bool(d.get('proration')),
        'quantity': d.get('quantity') or 1,
        'tax_rates': [pin_tax_rate(t) for t in d.get('tax_rates') or []],
        'test_clock': None,
    }


def pin_event(d):
    data = dict(d.get('data') or {})
    if isinstance(data.get('object'), dict):
        data['object'] = pin_any(data['object'])
    return {'id': d['id'], 'object': 'event', 'api_version': PINNED_VERSION,
            'created': d['created'], 'data': data, 'livemode': False,
            'pending_webhooks': 0,
            'request': {'id': None, 'idempotency_key': None},
            'type': d['type']}


PINNERS = {
    'charge': pin_charge,
    'coupon': pin_coupon,
    'customer': pin_customer,
    'event': pin_event,
    'invoice': pin_invoice,
    'invoiceitem': pin_invoice_item,
    'payment_intent': pin_payment_intent,
    'payment_method': pin_payment_method,
    'plan': pin_plan,
    'product': pin_product,
    'refund': pin_refund,
    'subscription': pin_subscription,
    'subscription_item': lambda d: pin_subscription_item(d),
    'tax_rate': pin_tax_rate,
}


def pin_any(d, as_kind=None):
    """Pin a localstripe answer: an object or a list of objects."""
    if not isinstance(d, dict):
        return d
    kind = as_kind or d.get('object')
    if kind == 'list':
        out = dict(d)
        out['data'] = [pin_any(x) for x in d.get('data') or []]
        out.pop('total_count', None)
        return out
    if d.get('deleted') and kind != 'customer':
        return d
    if kind == 'line_item':
        return pin_line_item(d, d.get('invoice'))
    pinner = PINNERS.get(kind)
    return pinner(d) if pinner else d


# ---------------------------------------------------------------------------
# Fetching one pinned object by kind and id (for expansions)
# ---------------------------------------------------------------------------

def fetch(kind, id):
    if kind == 'discount':
        disc = find_discount(id)
        return pin_discount(disc) if disc else None
    if kind == 'invoice_payment':
        return find_invoice_payment(id)
    if kind == 'price':
        obj = raw('plan', id)
        return pin_price(obj._export()) if obj is not None else None
    if kind == 'payment_method':
        obj = raw_payment_method(id)
        return pin_payment_method(obj._export()) if obj is not None else None
    obj = raw(kind, id)
    if obj is None:
        return None
    return pin_any(obj._export(), kind)


def find_invoice_payment(id):
    for inv in raw_all('invoice'):
        for p in invoice_payments_of(inv):
            if p['id'] == id:
                return p
    return None


# ---------------------------------------------------------------------------
# Expansion.  EXPANDABLE: per kind, field -> what it holds:
#   'kind'             an id of that kind (expanded to the object)
#   ('array', kind)    an array of such ids
#   ('include', name)  an includable field, absent unless expanded
#   ('embed', kind)    an object or hash always there, to descend into
#   ('list', kind)     a list object (`data` of that kind), to descend into
# REMOVED: fields the pinned version no longer has (expanding one is a 400;
# no pin_ function emits them).
# ---------------------------------------------------------------------------

EXPANDABLE = {
    'charge': {'balance_transaction': 'balance_transaction',
               'customer': 'customer', 'payment_intent': 'payment_intent',
               'refunds': ('include', 'charge.refunds'),
               'application': 'application',
               'application_fee': 'application_fee',
               'on_behalf_of': 'account', 'review': 'review',
               'source_transfer': 'transfer', 'transfer': 'transfer'},
    'coupon': {},
    'customer': {'default_source': 'source',
                 'discount': ('embed', 'discount'),
                 'invoice_settings': ('embed', 'customer_invoice_settings'),
                 'subscriptions': ('include', 'customer.subscriptions'),
                 'sources': ('include', 'customer.sources'),
                 'tax_ids': ('include', 'customer.tax_ids'),
                 'test_clock': 'test_helpers.test_clock'},
    'customer_invoice_settings': {'default_payment_method': 'payment_method'},
    'discount': {'customer': 'customer', 'promotion_code': 'promotion_code',
                 'source': ('embed', 'discount_source')},
    'discount_source': {'coupon': 'coupon'},
    'invoice': {'customer': 'customer',
                'default_payment_method': 'payment_method',
                'default_source': 'source',
                'discounts': ('array', 'discount'),
                'latest_revision': 'invoice',
                'lines': ('list', 'line_item'),
                'parent': ('embed', 'invoice_parent'),
                'payments': ('include', 'invoice.payments'),
                'confirmation_secret': ('include',
                                        'invoice.confirmation_secret'),
                'account_tax_ids': ('array', 'tax_id'),
                'application': 'application', 'on_behalf_of': 'account',
                'test_clock': 'test_helpers.test_clock'},
    'invoice_parent': {'subscription_details': ('embed',
                                                'invoice_parent_sub')},
    'invoice_parent_sub': {'subscription': 'subscription'},
    'invoice_payment': {'invoice': 'invoice',
                        'payment': ('embed', 'invoice_payment_payment')},
    'invoice_payment_payment': {'charge': 'charge',
                                'payment_intent': 'payment_intent',
                                'payment_record': 'payment_record'},
    'line_item': {'discounts': ('array', 'discount'),
                  'pricing': ('embed', 'line_item_pricing')},
    'line_item_pricing': {'price_details': ('embed', 'line_item_price')},
    'line_item_price': {'price': 'price'},
    'payment_intent': {'customer': 'customer',
                       'latest_charge': 'charge',
                       'payment_method': 'payment_method',
                       'application': 'application',
                       'on_behalf_of': 'account', 'review': 'review',
                       'source': 'source'},
    'payment_method': {'customer': 'customer'},
    'plan': {'product': 'product'},
    'price': {'product': 'product'},
    'product': {'default_price': 'price', 'tax_code': 'tax_code'},
    'refund': {'balance_transaction': 'balance_transaction',
               'charge': 'charge', 'payment_intent': 'payment_intent',
               'failure_balance_transaction': 'balance_transaction',
               'source_transfer_reversal': 'transfer_reversal',
               'transfer_reversal': 'transfer_reversal'},
    'subscription': {'customer': 'customer',
                     'default_payment_method': 'payment_method',
                     'default_source': 'source',
                     'discounts': ('array', 'discount'),
                     'items': ('list', 'subscription_item'),
                     'latest_invoice': 'invoice',
                     'pending_setup_intent': 'setup_intent',
                     'schedule': 'subscription_schedule',
                     'application': 'application', 'on_behalf_of': 'account',
                     'test_clock': 'test_helpers.test_clock'},
    'subscription_item': {'discounts': ('array', 'discount'),
                          'price': ('embed', 'price'),
                          'plan': ('embed', 'plan')},
    'billing_portal.session': {'configuration':
                               'billing_portal.configuration'},
    'event': {},
    'invoiceitem': {'customer': 'customer', 'invoice': 'invoice',
                    'discounts': ('array', 'discount')},
    'tax_rate': {},
}

REMOVED = {
    'charge': {'invoice': '2025-03-31.basil'},
    'invoiceitem': {'subscription': '2025-03-31.basil',
                    'subscription_item': '2025-03-31.basil',
                    'price': '2025-03-31.basil', 'plan': '2025-03-31.basil'},
    'customer': {'coupon': '2025-03-31.basil'},
    'discount': {'coupon': '2025-09-30.clover'},
    'invoice': {'charge': '2025-03-31.basil',
                'payment_intent': '2025-03-31.basil',
                'paid': '2025-03-31.basil',
                'paid_out_of_band': '2025-03-31.basil',
                'subscription': '2025-03-31.basil',
                'subscription_details': '2025-03-31.basil',
                'subscription_proration_date': '2025-03-31.basil',
                'quote': '2025-03-31.basil',
                'discount': '2025-03-31.basil'},
    'line_item': {'subscription': '2025-03-31.basil',
                  'subscription_item': '2025-03-31.basil',
                  'invoice_item': '2025-03-31.basil',
                  'type': '2025-03-31.basil',
                  'proration': '2025-03-31.basil',
                  'proration_details': '2025-03-31.basil',
                  'price': '2025-03-31.basil', 'plan': '2025-03-31.basil'},
    'payment_intent': {'invoice': '2025-03-31.basil',
                       'charges': '2022-11-15'},
    'subscription': {'plan': '2025-03-31.basil',
                     'quantity': '2025-03-31.basil',
                     'discount': '2025-03-31.basil',
                     'current_period_start': '2025-03-31.basil',
                     'current_period_end': '2025-03-31.basil'},
}

MAX_EXPAND_DEPTH = 4


def check_expand(kind, paths):
    """Validate expand[] paths for an answer of this kind ('list:<kind>' for
    a list).  Raises StripeError(400) like Stripe."""
    for path in paths:
        segments = path.split('.')
        if len(segments) > MAX_EXPAND_DEPTH:
            raise StripeError(400, 'You cannot expand more than 4 levels of '
                                   'a property.', param='expand')
        if not kind:
            continue
        current = kind
        for i, seg in enumerate(segments):
            if current.startswith('list:'):
                if seg != 'data':
                    hint = ''
                    item = current[5:]
                    if i == 0 and seg in EXPANDABLE.get(item, {}):
                        hint = (" You may want to try expanding 'data.%s' "
                                "instead." % path)
                    raise StripeError(400, 'This property cannot be expanded '
                                           '(%s).%s' % (seg, hint),
                                      param='expand')
                current = current[5:]
                continue
            fields = EXPANDABLE.get(current)
            if fields is None:
                break  # a kind this layer does not know: leave it be
            target = fields.get(seg)
            if target is None or seg in REMOVED.get(current, {}):
                raise StripeError(400, 'This property cannot be expanded '
                                       '(%s).' % seg, param='expand')
            if isinstance(target, tuple):
                how, what = target
                if how in ('array', 'embed'):
                    current = what
                elif how == 'list':
                    current = 'list:' + what
                else:  # include
                    current = INCLUDE_KIND.get(what, '')
            else:
                current = target


INCLUDE_KIND = {
    'charge.refunds': 'list:refund',
    'customer.subscriptions': 'list:subscription',
    'customer.sources': 'list:source',
    'customer.tax_ids': 'list:tax_id',
    'invoice.payments': 'list:invoice_payment',
    'invoice.confirmation_secret': 'confirmation_secret',
}


def include(name, obj):
    """The value of an includable field of a pinned object."""
    if name == 'charge.refunds':
        refunds = [r for r in raw_all('refund') if r.charge == obj['id']]
        return list_object(newest_first(refunds, 'refund',
                                        lambda r: pin_refund(r._export())),
                           '/v1/charges/%s/refunds' % obj['id'])
    if name == 'invoice.payments':
        inv = raw('invoice', obj.get('id'))
        payments = invoice_payments_of(inv) if inv is not None else []
        payments.sort(key=lambda p: p['created'], reverse=True)
        payments.sort(key=lambda p: p['is_default'], reverse=True)
        return list_object(payments,
                           '/v1/invoice_payments?invoice=%s' % obj.get('id'))
    if name == 'invoice.confirmation_secret':
        inv = raw('invoice', obj.get('id'))
        pi = raw('payment_intent', getattr(inv, 'payment_intent', None))
        if pi is None or inv.status != 'open':
            return None
        return {'client_secret': pi.client_secret, 'type': 'payment_intent'}
    if name == 'customer.subscriptions':
        subs = [s for s in raw_all('subscription')
                if s.customer == obj['id'] and s.status not in
                ('canceled', 'incomplete_expired')]
        return list_object(newest_first(subs, 'subscription',
                                        lambda s: pin_subscription(
                                            s._export())),
                           '/v1/customers/%s/subscriptions' % obj['id'])
    if name == 'customer.sources':
        cus = raw('customer', obj['id'])
        data = [s._export() for s in cus.sources._list] if cus else []
        return list_object(data, '/v1/customers/%s/sources' % obj['id'])
    if name == 'customer.tax_ids':
        cus = raw('customer', obj['id'])
        data = [t._export() for t in cus.tax_ids._list] if cus else []
        return list_object(data, '/v1/customers/%s/tax_ids' % obj['id'])
    raise KeyError(name)


def list_object(data, url, has_more=False):
    return {'object': 'list', 'data': data, 'has_more': has_more,
            'url': url}


def newest_first(objs, kind, pin):
    order = store_order()
    objs = sorted(objs, key=lambda o: (o.created,
                                       order.get(kind + ':' + o.id, 0)),
                  reverse=True)
    return [pin(o) for o in objs]


def expand(value, kind, paths):
    """Expand the (validated) paths in a pinned value, in place."""
    for path in paths:
        _expand(value, kind, path.split('.'))
    return value


def _expand(value, kind, segments):
    if value is None or not segments:
        return
    seg, rest = segments[0], segments[1:]
    if kind.startswith('list:'):
        if isinstance(value, dict):
            for item in value.get('data') or []:
                _expand(item, kind[5:], rest)
        return
    if not isinstance(value, dict):
        return
    target = EXPANDABLE.get(kind, {}).get(seg)
    if target is None:
        return
    if isinstance(target, tuple):
        how, what = target
        if how == 'include':
            if seg not in value:
                value[seg] = include(what, value)
            _expand(value[seg], INCLUDE_KIND.get(what, ''), rest)
        elif how == 'array':
            items = value.get(seg) or []
            for i, item in enumerate(items):
                if isinstance(item, str):
                    fetched = fetch(what, item)
                    if fetched is not None:
                        items[i] = fetched
                _expand(items[i], what, rest)
        elif how == 'embed':
            _expand(value.get(seg), what, rest)
        elif how == 'list':
            _expand(value.get(seg), 'list:' + what, rest)
        return
    current = value.get(seg)
    if isinstance(current, str):
        fetched = fetch(target, current)
        if fetched is not None:
            value[seg] = fetched
    _expand(value.get(seg), target, rest)


# ---------------------------------------------------------------------------
# Requests: flat form pairs, as Stripe's clients send them
# ---------------------------------------------------------------------------

EXPAND_KEY = re.compile(r'^expand(\[\d*\])?$')


class Params:
    """The flat `key=value` pairs of a query string or a form body."""

    def __init__(self, pairs):
        self.pairs = list(pairs)

    @classmethod
    def parse(cls, text):
        return cls(urllib.parse.parse_qsl(text, keep_blank_values=True))

    def encode(self):
        return urllib.parse.urlencode(self.pairs)

    def nested(self):
        data = unflatten_data(MultiDict(self.pairs)) if self.pairs else {}
        return data or {}

    def has(self, name):
        return any(k == name or k.startswith(name + '[')
                   for k, _ in self.pairs)

    def get(self, name, default=None):
        return self.nested().get(name, default)

    def pop(self, name, default=None):
        value = self.get(name, default)
        self.pairs = [(k, v) for k, v in self.pairs
                      if not (k == name or k.startswith(name + '['))]
        return value

    def set(self, name, value):
        self.pop(name)
        self.pairs.append((name, str(value)))

    def rename(self, pattern, repl):
        self.pairs = [(re.sub(pattern, repl, k), v) for k, v in self.pairs]

    def keys(self):
        return {re.split(r'\[', k, 1)[0] for k, _ in self.pairs}

    def pop_expand(self):
        paths = [v for k, v in self.pairs if EXPAND_KEY.match(k)]
        self.pairs = [(k, v) for k, v in self.pairs if not EXPAND_KEY.match(k)]
        return paths


class Call:
    """A pinned request on its way: what is forwarded, and the hooks."""

    def __init__(self, request, body):
        self.request = request
        self.method = request.method
        self.path = request.path
        self.version = request.headers.get('Stripe-Version')
        self.query = Params.parse(request.rel_url.raw_query_string)
        ctype = request.headers.get('Content-Type', '')
        if body and 'json' in ctype:
            self.body = Params(flatten(json.loads(body.decode())))
        else:
            self.body = Params.parse(body.decode('utf-8', 'replace'))
        self.expand = self.query.pop_expand() + self.body.pop_expand()
        self.params = self.body if self.method == 'POST' else self.query

    def __repr__(self):
        return '%s %s' % (self.method, self.path)


def flatten(data, prefix=''):
    pairs = []
    if isinstance(data, dict):
        for k, v in data.items():
            key = '%s[%s]' % (prefix, k) if prefix else k
            pairs += flatten(v, key)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            pairs += flatten(v, '%s[%d]' % (prefix, i))
    elif data is True or data is False:
        pairs.append((prefix, 'true' if data else 'false'))
    elif data is None:
        pairs.append((prefix, ''))
    else:
        pairs.append((prefix, str(data)))
    return pairs


# ---------------------------------------------------------------------------
# Lists: filtering, newest first, cursors
# ---------------------------------------------------------------------------

LIST_KINDS = {
    'charges': 'charge', 'coupons': 'coupon', 'customers': 'customer',
    'events': 'event', 'invoiceitems': 'invoiceitem', 'invoices': 'invoice',
    'payment_intents': 'payment_intent', 'payment_methods': 'payment_method',
    'plans': 'plan', 'prices': 'price', 'products': 'product',
    'refunds': 'refund', 'subscription_items': 'subscription_item',
    'subscriptions': 'subscription', 'tax_rates': 'tax_rate',
    'invoice_payments': 'invoice_payment',
}

# Filters localstripe does not take (or gets wrong), applied here instead.
LAYER_FILTERS = {
    'charge': {'payment_intent'},
    'invoice': {'status', 'collection_method'},
    'payment_intent': {'customer'},
    'price': {'type', 'currency', 'lookup_keys', 'recurring'},
    'refund': {'payment_intent'},
    'subscription': {'price', 'collection_method', 'status'},
    'subscription_item': {'subscription'},
}


def created_filter(value):
    """`created=N` or `created[gt|gte|lt|lte]=N` -> predicate."""
    if value is None:
        return lambda ts: True
    if not isinstance(value, dict):
        n = to_int(value, 'created')
        return lambda ts: ts == n
    tests = []
    for op, v in value.items():
        n = to_int(v, 'created[%s]' % op)
        tests.append({'gt': lambda ts, n=n: ts > n,
                      'gte': lambda ts, n=n: ts >= n,
                      'lt': lambda ts, n=n: ts < n,
                      'lte': lambda ts, n=n: ts <= n}.get(op))
        if tests[-1] is None:
            raise StripeError(400, 'Received unknown parameter: created[%s]'
                              % op, param='created')
    return lambda ts: all(t(ts) for t in tests)


class Page:
    """Stripe's list parameters, taken off a request."""

    def __init__(self, params):
        limit = params.pop('limit')
        self.limit = 10 if limit in (None, '') else to_int(limit, 'limit')
        if not 1 <= self.limit <= 100:
            raise StripeError(400, 'Invalid limit: must be between 1 and 100',
                              param='limit')
        self.starting_after = params.pop('starting_after') or None
        self.ending_before = params.pop('ending_before') or None
        self.created = created_filter(params.pop('created'))

    def apply(self, items, url, pin=None, keep=None):
        """items: localstripe's (or pinned) objects, newest first.  Only the
        objects of the page (and one more, for has_more) are pinned; `keep`
        filters pinned objects."""
        pin = pin or (lambda x: x)
        keep = keep or (lambda x: True)
        items = [i for i in items if self.created(i.get('created', 0))]
        ids = [i.get('id') for i in items]

        def take(candidates):
            out = []
            for item in candidates:
                pinned = pin(item)
                if keep(pinned):
                    out.append(pinned)
                    if len(out) > self.limit:
                        break
            return out

        if self.starting_after:
            if self.starting_after not in ids:
                raise missing('object', self.starting_after, 'starting_after')
            got = take(items[ids.index(self.starting_after) + 1:])
            return list_object(got[:self.limit], url,
                               len(got) > self.limit)
        if self.ending_before:
            if self.ending_before not in ids:
                raise missing('object', self.ending_before, 'ending_before')
            got = take(reversed(items[:ids.index(self.ending_before)]))
            page = list(reversed(got[:self.limit]))
            return list_object(page, url, len(got) > self.limit)
        got = take(items)
        return list_object(got[:self.limit], url, len(got) > self.limit)


def sort_newest_first(items, kind):
    order = store_order()
    store_kind = 'plan' if kind == 'price' else kind

    def key(item):
        return (item.get('created', 0),
                order.get('%s:%s' % (store_kind, item.get('id')), 0))
    return sorted(items, key=key, reverse=True)


def layer_filter(kind, filters):
    """Predicate on pinned objects for the filters in LAYER_FILTERS."""
    tests = []
    for name, value in filters.items():
        if value is None:
            continue
        if kind == 'invoice' and name in ('status', 'collection_method'):
            tests.append(lambda o, n=name, v=value: o.get(n) == v)
        elif kind == 'charge' and name == 'payment_intent':
            tests.append(lambda o, v=value: o.get('payment_intent') == v)
        elif kind == 'payment_intent' and name == 'customer':
            tests.append(lambda o, v=value: o.get('customer') == v)
        elif kind == 'refund' and name == 'payment_intent':
            tests.append(lambda o, v=value: o.get('payment_intent') == v)
        elif kind == 'subscription' and name == 'price':
            tests.append(lambda o, v=value: any(
                i['price']['id'] == v for i in o['items']['data']))
        elif kind == 'subscription' and name == 'status':
            if value == 'all':
                continue
            ended = ('canceled', 'incomplete_expired')
            if value == 'ended':
                tests.append(lambda o: o['status'] in ended)
            elif value == '__default__':
                tests.append(lambda o: o['status'] not in ended)
            else:
                tests.append(lambda o, v=value: o['status'] == v)
        elif kind == 'subscription' and name == 'collection_method':
            tests.append(lambda o, v=value: o['collection_method'] == v)
        elif kind == 'subscription_item' and name == 'subscription':
            tests.append(lambda o, v=value: o.get('subscription') == v)
        elif kind == 'price' and name == 'type':
            tests.append(lambda o, v=value: o['type'] == v)
        elif kind == 'price' and name == 'currency':
            tests.append(lambda o, v=value: o['currency'] == v)
        elif kind == 'price' and name == 'lookup_keys':
            keys = value if isinstance(value, list) else [value]
            tests.append(lambda o, v=keys: o.get('lookup_key') in v)
        elif kind == 'price' and name == 'recurring':
            interval = (value or {}).get('interval')
            tests.append(lambda o, v=interval: v is None or (
                o['recurring'] or {}).get('interval') == v)
    return lambda o: all(t(o) for t in tests)


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------

HOP_HEADERS = {'host', 'content-length', 'transfer-encoding', 'connection',
               'keep-alive', 'accept-encoding'}
PASS_HEADERS = ('Content-Type', 'Access-Control-Allow-Origin',
                'Access-Control-Allow-Headers',
                'Access-Control-Allow-Methods')


def is_pinned(request):
    version = request.headers.get('Stripe-Version', '')
    m = re.match(r'^(\d{4}-\d{2}-\d{2})', version)
    return bool(m) and m.group(1) >= FIRST_SHAPED


def json_response(body, status=200, version=None):
    headers = {'Request-Id': 'req_' + random_token(14)}
    if version:
        headers['Stripe-Version'] = version
    return web.Response(
        status=status, headers=headers, content_type='application/json',
        text=json.dumps(body, indent=2, sort_keys=True) + '\n')


class Layer:
    def __init__(self, upstream):
        self.upstream = upstream  # http://127.0.0.1:<internal port>
        self.session = None
        self.idempotency = {}     # (key, method, path) -> answer to replay
        self.inflight = set()     # (key, method, path) being answered
        self.routes = [
            ('GET', r'^/v1/invoice_payments$', self.list_invoice_payments),
            ('GET', r'^/v1/invoice_payments/(?P<id>[^/]+)$',
             self.get_invoice_payment),
            ('POST', r'^/v1/billing_portal/sessions$', self.portal_session),
            ('POST', r'^/v1/prices$', self.create_price),
            ('GET', r'^/v1/prices$', self.list_prices),
            ('GET', r'^/v1/prices/(?P<id>[^/]+)$', self.get_price),
            ('POST', r'^/v1/prices/(?P<id>[^/]+)$', self.update_price),
            ('POST', r'^/v1/customers$', self.create_customer),
            ('POST', r'^/v1/customers/(?P<id>[^/]+)$', self.update_customer),
            ('DELETE', r'^/v1/customers/(?P<id>[^/]+)/discount$',
             self.delete_customer_discount),
            ('GET', r'^/v1/customers/(?P<id>[^/]+)/payment_methods$',
             self.customer_payment_methods),
            ('GET', r'^/v1/customers/(?P<id>[^/]+)/subscriptions$',
             self.customer_subscriptions),
            ('POST', r'^/v1/coupons$', self.create_coupon),
            ('POST', r'^/v1/subscriptions$', self.create_subscription),
            ('POST', r'^/v1/subscriptions/(?P<id>[^/]+)$',
             self.update_subscription),
            ('DELETE', r'^/v1/subscriptions/(?P<id>[^/]+)$',
             self.cancel_subscription),
            ('DELETE', r'^/v1/subscriptions/(?P<id>[^/]+)/discount$',
             self.delete_subscription_discount),
            ('POST', r'^/v1/refunds$', self.create_refund),
            ('GET', r'^/v1/charges/(?P<id>[^/]+)/refunds$',
             self.charge_refunds),
            ('POST', r'^/v1/invoices$', self.create_invoice),
            ('POST', r'^/v1/invoices/(?P<id>[^/]+)/finalize$',
             self.finalize_invoice),
            ('POST', r'^/v1/invoices/(?P<id>[^/]+)/pay$', self.pay_invoice),
            ('POST', r'^/v1/invoices/(?P<id>[^/]+)/void$', self.void_invoice),
            ('POST', r'^/v1/invoices/(?P<id>[^/]+)/mark_uncollectible$',
             self.mark_uncollectible),
            ('POST', r'^/v1/payment_intents$', self.create_payment_intent),
            ('POST', r'^/v1/payment_intents/(?P<id>[^/]+)/cancel$',
             self.cancel_payment_intent),
            ('GET', r'^/v1/payment_methods$', self.list_payment_methods),
            ('GET', r'^/v1/disputes$', self.list_disputes),
            ('GET', r'^/v1/disputes/(?P<id>[^/]+)$', self.get_dispute),
            ('POST', r'^/v1/invoiceitems$', self.create_invoice_item),
        ]

    async def start(self):
        self.session = ClientSession(
            connector=TCPConnector(limit=64),
            timeout=ClientTimeout(total=60), auto_decompress=False)

    async def close(self):
        if self.session is not None:
            await self.session.close()

    # -- entry point ----------------------------------------------------------

    async def handle(self, request):
        body = await request.read()
        try:
            if not is_pinned(request):
                return await self.forward_raw(request, body)
            return await self.pinned(request, body)
        except StripeError as e:
            return json_response(e.body, e.status,
                                 request.headers.get('Stripe-Version'))
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            return json_response({'error': {
                'type': 'api_error',
                'message': 'stripe_pinned: %s: %s' % (type(e).__name__, e)}},
                500)

    async def forward_raw(self, request, body):
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in HOP_HEADERS}
        url = self.upstream + request.raw_path
        async with self.session.request(
                request.method, url, headers=headers, data=body,
                allow_redirects=False) as r:
            payload = await r.read()
            out = {k: r.headers[k] for k in PASS_HEADERS if k in r.headers}
            return web.Response(status=r.status, body=payload, headers=out)

    async def send(self, call, method=None, path=None):
        """Forward a pinned call as translated; (status, headers, bytes)."""
        headers = {k: v for k, v in call.request.headers.items()
                   if k.lower() not in HOP_HEADERS | {'content-type'}}
        url = self.upstream + (path or call.path)
        query = call.query.encode()
        if query:
            url += '?' + query
        data = None
        if (method or call.method) == 'POST':
            data = call.body.encode().encode()
            headers['Content-Type'] = 'application/x-www-form-urlencoded'
        async with self.session.request(
                method or call.method, url, headers=headers, data=data,
                allow_redirects=False) as r:
            payload = await r.read()
            return r.status, r.headers.get('Content-Type', ''), payload

    async def pinned(self, request, body):
        call = Call(request, body)
        key = request.headers.get('Idempotency-Key')
        params = sorted(call.body.pairs) + sorted(call.expand)
        if key and call.method == 'POST':
            ident = (key, call.method, call.path)
            if ident in self.inflight:
                raise StripeError(
                    409, 'There is currently another in-progress request '
                         'using this Stripe-Idempotency-Key (that probably '
                         'means you submitted twice, and the other request '
                         'is still going through): %s. Please try again '
                         'later.' % key, type='idempotency_error')
            if ident in self.idempotency:
                old_params, status, text = self.idempotency[ident]
                if old_params != params:
                    raise StripeError(
                        400, 'Keys for idempotent requests can only be used '
                             'with the same parameters they were first used '
                             'with. Try using a key other than \'%s\' if you '
                             'meant to execute a different request.' % key,
                        type='idempotency_error')
                response = web.Response(status=status, text=text,
                                        content_type='application/json')
                response.headers['Idempotent-Replayed'] = 'true'
                response.headers['Stripe-Version'] = call.version
                return response
        if not (key and call.method == 'POST'):
            return await self.dispatch(call)
        ident = (key, call.method, call.path)
        self.inflight.add(ident)
        try:
            response = await self.dispatch(call)
        finally:
            self.inflight.discard(ident)
        if response.status in (200, 402):  # the endpoint ran: replay it
            self.idempotency[ident] = (params, response.status,
                                       response.text)
        return response

    async def dispatch(self, call):
        for method, pattern, handler in self.routes:
            m = re.match(pattern, call.path)
            if m and method == call.method:
                return await handler(call, **m.groupdict())
        return await self.generic(call)

    # -- the generic path: forward, pin, list, expand -------------------------

    def kind_of(self, method, path):
        """What a path answers: 'invoice', 'list:invoice', or None."""
        parts = path.strip('/').split('/')
        if len(parts) < 2 or parts[0] != 'v1':
            return None
        resource = parts[1]
        if resource == 'billing_portal':
            return 'billing_portal.session'
        kind = LIST_KINDS.get(resource)
        if kind is None:
            return None
        if len(parts) == 2:
            return kind if method == 'POST' else 'list:' + kind
        if len(parts) == 3:
            if resource == 'invoices' and parts[2] == 'upcoming':
                return 'invoice'
            return kind
        sub = parts[3]
        if resource == 'invoices' and sub == 'lines':
            return 'list:line_item'
        if resource == 'customers' and sub == 'subscriptions':
            return 'list:subscription' if len(parts) == 4 and \
                method == 'GET' else 'subscription'
        if resource == 'customers' and sub in ('sources', 'tax_ids'):
            return None
        if resource == 'charges' and sub == 'refunds':
            return 'list:refund'
        if resource == 'invoices' and parts[2] == 'upcoming':
            return 'list:line_item' if sub == 'lines' else 'invoice'
        return kind  # /v1/<resource>/<id>/<action>

    async def generic(self, call, kind=None, path=None, method=None,
                      after=None, sort=True, url=None):
        kind = kind or self.kind_of(call.method, call.path)
        check_expand(kind, call.expand)
        page = None
        layer_filters = {}
        if kind and kind.startswith('list:') and call.method == 'GET':
            item = kind[5:]
            page = Page(call.query)
            for name in LAYER_FILTERS.get(item, ()):
                if call.query.has(name):
                    layer_filters[name] = call.query.pop(name)
            if item == 'subscription':  # statuses are the layer's (trialing)
                layer_filters.setdefault('status', '__default__')
                call.query.set('status', 'all')
            if not re.match(r'^/v1/customers/[^/]+/', path or call.path):
                call.query.set('limit', '1000000')
        status, ctype, payload = await self.send(call, method, path)
        if status != 200 or 'json' not in ctype:
            return web.Response(status=status, body=payload,
                                content_type=ctype.split(';')[0] or None)
        data = json.loads(payload)
        if after is not None:
            data = after(data)
            R.store.dump_to_disk()  # what the hook kept on the objects
        item_kind = kind[5:] if kind and kind.startswith('list:') else None
        pin = pin_price if 'price' in (kind, item_kind) else pin_any
        if page is not None:
            items = data['data']
            if sort and item_kind != 'line_item':
                items = sort_newest_first(items, item_kind)
            url = url or data.get('url') or call.path
            pinned = page.apply(items, url, pin,
                                layer_filter(item_kind, layer_filters))
        elif item_kind:
            pinned = dict(data, data=[pin(x) for x in data['data']])
            pinned.pop('total_count', None)
        else:
            pinned = pin(data)
        expand(pinned, kind or '', call.expand)
        return json_response(pinned, 200, call.version)

    # -- invoice payments -----------------------------------------------------

    async def list_invoice_payments(self, call):
        check_expand('list:invoice_payment', call.expand)
        page = Page(call.query)
        q = call.query.nested()
        invoice = q.pop('invoice', None)
        status = q.pop('status', None)
        payment = q.pop('payment', None)
        if q:
            raise StripeError(400, 'Received unknown parameter: %s'
                              % sorted(q)[0], param=sorted(q)[0])
        if status is not None and status not in ('open', 'paid', 'canceled'):
            raise StripeError(400, 'Invalid status: must be one of open, '
                                   'paid, or canceled', param='status')
        if invoice is not None:
            inv = raw('invoice', invoice)
            if inv is None:
                raise missing('invoice', invoice, 'invoice')
            invoices = [inv]
        else:
            invoices = raw_all('invoice')
        payments = []
        for inv in invoices:
            payments += invoice_payments_of(inv)
        if payment is not None:
            if not isinstance(payment, dict) or not payment.get('type'):
                raise StripeError(400, 'Missing required param: '
                                       'payment[type].', param='payment[type]')
            ptype = payment['type']
            if ptype not in ('payment_intent', 'charge', 'payment_record'):
                raise StripeError(400, 'Invalid payment[type]: must be one of '
                                       'payment_intent or payment_record',
                                  param='payment[type]')
            payments = [p for p in payments if p['payment']['type'] == ptype]
            if payment.get(ptype):
                payments = [p for p in payments
                            if p['payment'].get(ptype) == payment[ptype]]
        if status is not None:
            payments = [p for p in payments if p['status'] == status]
        order = {p['id']: i for i, p in enumerate(payments)}
        payments.sort(key=lambda p: (p['created'], order[p['id']]),
                      reverse=True)
        url = '/v1/invoice_payments'
        result = page.apply(payments, url)
        expand(result, 'list:invoice_payment', call.expand)
        return json_response(result, 200, call.version)

    async def get_invoice_payment(self, call, id):
        check_expand('invoice_payment', call.expand)
        payment = find_invoice_payment(id)
        if payment is None:
            raise missing('invoice_payment', id)
        expand(payment, 'invoice_payment', call.expand)
        return json_response(payment, 200, call.version)

    # -- billing portal -------------------------------------------------------

    async def portal_session(self, call):
        check_expand('billing_portal.session', call.expand)
        p = call.body.nested()
        customer = p.get('customer')
        if not customer:
            raise StripeError(400, 'Missing required param: customer.',
                              param='customer')
        if raw('customer', customer) is None:
            raise missing('customer', customer, 'customer')
        session = {
            'id': 'bps_' + random_token(24),
            'object': 'billing_portal.session',
            'configuration': p.get('configuration') or
            stable_id('bpc_', 'default'),
            'created': now(),
            'customer': customer,
            'customer_account': None,
            'flow': None,
            'livemode': False,
            'locale': p.get('locale'),
            'on_behalf_of': p.get('on_behalf_of'),
            'return_url': p.get('return_url'),
            'url': 'https://billing.stripe.com/p/session/test_'
                   + random_token(32),
        }
        return json_response(session, 200, call.version)

    # -- prices (localstripe plans) -------------------------------------------

    async def create_price(self, call):
        check_expand('price', call.expand)
        b = call.body
        p = b.nested()
        keep = {}
        for name in ('lookup_key', 'tax_behavior'):
            if b.has(name):
                keep[name] = b.pop(name)
        for name in ('transfer_lookup_key', 'currency_options',
                     'custom_unit_amount', 'transform_quantity'):
            b.pop(name)
        recurring = b.pop('recurring')
        product_data = b.pop('product_data')
        unit_amount = b.pop('unit_amount')
        decimal = b.pop('unit_amount_decimal')
        if unit_amount is None and decimal is not None:
            unit_amount = int(float(decimal))
        if unit_amount is not None:
            b.set('amount', unit_amount)
        if recurring:
            for name in ('interval', 'interval_count', 'usage_type',
                         'trial_period_days'):
                if recurring.get(name) is not None:
                    b.set(name, recurring[name])
        else:
            keep['type'] = 'one_time'
            b.set('interval', 'month')
        if product_data:
            for name, value in flatten(product_data, 'product'):
                b.pairs.append((name, value))
        if not p.get('currency'):
            raise StripeError(400, 'Missing required param: currency.',
                              param='currency')
        b.set('id', 'price_' + random_token(24))

        def after(data):
            plan = raw('plan', data['id'])
            hidden(plan).update(keep)
            return plan._export()
        return await self.generic(call, kind='price', path='/v1/plans',
                                  after=after)

    async def list_prices(self, call):
        return await self.generic(call, kind='list:price', path='/v1/plans',
                                  url='/v1/prices')

    async def get_price(self, call, id):
        return await self.generic(call, kind='price', path='/v1/plans/' + id)

    async def update_price(self, call, id):
        keep = {}
        for name in ('lookup_key', 'tax_behavior'):
            if call.body.has(name):
                keep[name] = call.body.pop(name)
        call.body.pop('transfer_lookup_key')
        call.body.pop('currency_options')
        plan = raw('plan', id)
        if plan is None:
            raise missing('price', id)
        hidden(plan).update(keep)
        if not call.body.pairs:  # localstripe refuses an empty update
            R.store.dump_to_disk()
            check_expand('price', call.expand)
            return json_response(expand(pin_price(plan._export()), 'price',
                                        call.expand), 200, call.version)
        return await self.generic(call, kind='price', path='/v1/plans/' + id)

    # -- customers and discounts ----------------------------------------------

    def take_coupon(self, params, param_name):
        """`coupon=X` or `discounts[0][coupon]=X` -> coupon id ('' clears)."""
        coupon = params.pop('coupon')
        discounts = params.pop('discounts')
        params.pop('promotion_code')
        if discounts is not None:
            if discounts == '' or discounts == []:
                return ''
            first = discounts[0] if isinstance(discounts, list) else None
            if not isinstance(first, dict) or not first.get('coupon'):
                raise StripeError(400, 'Only discounts[][coupon] is supported '
                                       'by this stand-in.', param='discounts')
            coupon = first['coupon']
        if coupon:
            obj = raw('coupon', coupon)
            if obj is None:
                raise missing('coupon', coupon, param_name)
            if not obj.valid:
                raise StripeError(400, "Coupon expired: %s" % coupon,
                                  param=param_name)
        return coupon

    def apply_discount(self, obj, coupon, customer, subscription):
        h = hidden(obj)
        if coupon == '':
            h.pop('discount', None)
            return
        if coupon is None:
            return
        co = raw('coupon', coupon)
        start = now()
        end = None
        if co.duration == 'repeating' and co.duration_in_months:
            end = int((datetime.fromtimestamp(start) + relativedelta(
                months=int(co.duration_in_months))).timestamp())
        co.times_redeemed += 1
        h['discount'] = {
            'id': stable_id('di_', obj.id, coupon, str(start)),
            'coupon': coupon, 'customer': customer,
            'subscription': subscription, 'start': start, 'end': end}

    async def create_customer(self, call):
        check_expand('customer', call.expand)
        b = call.body
        coupon = self.take_coupon(b, 'coupon')
        keep = {}
        if b.has('tax_exempt'):
            keep['tax_exempt'] = b.pop('tax_exempt')
        for name in ('shipping', 'invoice_prefix', 'next_invoice_sequence',
                     'tax', 'test_clock', 'cash_balance', 'validate'):
            b.pop(name)
        b.rename(r'^invoice_settings\[(custom_fields|footer|'
                 r'rendering_options)\].*$', '__drop__')
        b.pop('__drop__')

        def after(data):
            obj = raw('customer', data['id'])
            hidden(obj).update(keep)
            self.apply_discount(obj, coupon, obj.id, None)
            return obj._export()
        return await self.generic(call, kind='customer', after=after)

    async def update_customer(self, call, id):
        check_expand('customer', call.expand)
        b = call.body
        obj = raw('customer', id)
        if obj is None:
            raise missing('customer', id, 'id')
        coupon = self.take_coupon(b, 'coupon')
        keep = {}
        if b.has('tax_exempt'):
            keep['tax_exempt'] = b.pop('tax_exempt')
        for name in ('shipping', 'invoice_prefix', 'next_invoice_sequence',
                     'tax', 'cash_balance', 'default_source', 'source',
                     'validate'):
            b.pop(name)

        def after(data=None):
            hidden(obj).update(keep)
            self.apply_discount(obj, coupon, obj.id, None)
            return obj._export()
        if not b.pairs:  # localstripe refuses an empty update
            after()
            R.store.dump_to_disk()
            return json_response(expand(pin_customer(obj._export()),
                                        'customer', call.expand),
                                 200, call.version)
        return await self.generic(call, kind='customer', after=after)

    async def delete_discount(self, call, kind, id):
        obj = raw(kind, id)
        if obj is None:
            raise missing(kind, id)
        disc = hidden(obj).pop('discount', None)
        if disc is None:
            raise StripeError(404, '%s %s does not have a discount.'
                              % (kind.capitalize(), id),
                              code='resource_missing')
        R.store.dump_to_disk()
        out = pin_discount(disc)
        out['deleted'] = True
        return json_response(out, 200, call.version)

    async def delete_customer_discount(self, call, id):
        return await self.delete_discount(call, 'customer', id)

    async def delete_subscription_discount(self, call, id):
        return await self.delete_discount(call, 'subscription', id)

    async def customer_payment_methods(self, call, id):
        call.query.set('customer', id)
        if not call.query.has('type'):
            call.query.set('type', 'card')
        return await self.generic(call, kind='list:payment_method',
                                  path='/v1/payment_methods',
                                  url='/v1/customers/%s/payment_methods' % id)

    async def list_disputes(self, call):
        """localstripe has no disputes: the list is empty."""
        page = Page(call.query)
        return json_response(page.apply([], '/v1/disputes'), 200,
                             call.version)

    async def get_dispute(self, call, id):
        raise missing('dispute', id)

    async def customer_subscriptions(self, call, id):
        if raw('customer', id) is None:
            raise missing('customer', id)
        call.query.set('customer', id)
        return await self.generic(call, kind='list:subscription',
                                  path='/v1/subscriptions',
                                  url='/v1/customers/%s/subscriptions' % id)

    async def list_payment_methods(self, call):
        if not call.query.has('type'):
            call.query.set('type', 'card')
        return await self.generic(call, kind='list:payment_method')

    async def create_coupon(self, call):
        b = call.body
        keep = {}
        if b.has('name'):
            keep['name'] = b.pop('name')
        extra = {}
        for name in ('max_redemptions', 'redeem_by'):
            if b.has(name):
                extra[name] = to_int(b.pop(name), name)
        b.pop('applies_to')
        b.pop('currency_options')
        if not b.get('id'):
            b.set('id', random_token(8))

        def after(data):
            obj = raw('coupon', data['id'])
            hidden(obj).update(keep)
            for name, value in extra.items():
                setattr(obj, name, value)
            return obj._export()
        return await self.generic(call, kind='coupon', after=after)

    # -- subscriptions --------------------------------------------------------

    SUB_KEEP = ('collection_method', 'days_until_due', 'description',
                'default_payment_method', 'pause_collection')
    SUB_DROP = ('payment_settings', 'automatic_tax', 'off_session',
                'add_invoice_items', 'application_fee_percent', 'currency',
                'transfer_data', 'on_behalf_of',
                'pending_invoice_item_interval',
                'billing_thresholds', 'trial_settings', 'invoice_settings',
                'billing_cycle_anchor_config', 'default_source',
                'payment_behavior', 'cancellation_details', 'billing_mode',
                'promotion_code')

    def take_subscription_params(self, b):
        keep = {}
        for name in self.SUB_KEEP:
            if b.has(name):
                value = b.pop(name)
                if name == 'days_until_due':
                    value = to_int(value, name)
                if name == 'pause_collection' and isinstance(value, dict):
                    # Stripe answers {behavior, resumes_at: timestamp|null};
                    # `pause_collection=` (empty) clears it.
                    resumes = value.get('resumes_at')
                    value = {'behavior': value.get('behavior'),
                             'resumes_at': (to_int(resumes, 'pause_collection[resumes_at]')
                                            if resumes not in (None, '') else None)}
                keep[name] = value or None
        mode = b.get('billing_mode')
        if isinstance(mode, dict) and mode.get('type'):
            keep['billing_mode'] = mode['type']
        details = b.get('cancellation_details')
        if isinstance(details, dict):
            keep['cancellation_details'] = {
                'comment': details.get('comment') or None,
                'feedback': details.get('feedback') or None}
        behavior = b.get('payment_behavior')
        b.rename(r'^items\[(\d+)\]\[price\]$', r'items[\1][plan]')
        b.rename(r'^items\[(\d+)\]\[(discounts|price_data|billing_thresholds)'
                 r'\].*$', '__drop__')
        b.pop('__drop__')
        proration = b.pop('proration_behavior')
        for name in self.SUB_DROP:
            b.pop(name)
        if behavior in ('allow_incomplete', 'error_if_incomplete'):
            b.set('payment_behavior', behavior)
        return keep, proration

    async def with_payment_method(self, customer_id, pm_id, send):
        """Run `send` with the customer's default payment method set to
        pm_id (localstripe charges the customer's default)."""
        cus = raw('customer', customer_id)
        if cus is None or not pm_id:
            return await send()
        if raw_payment_method(pm_id) is None:
            raise missing('payment_method', pm_id, 'default_payment_method')
        saved = cus.invoice_settings.get('default_payment_method')
        cus.invoice_settings['default_payment_method'] = pm_id
        try:
            return await send()
        finally:
            cus.invoice_settings['default_payment_method'] = saved

    async def create_subscription(self, call):
        check_expand('subscription', call.expand)
        b = call.body
        coupon = self.take_coupon(b, 'discounts')
        keep, proration = self.take_subscription_params(b)
        keep.pop('cancellation_details', None)
        if proration in ('create_prorations', 'none'):
            b.set('proration_behavior', proration)
        cancel_at_period_end = b.pop('cancel_at_period_end')
        cancel_at = b.pop('cancel_at')

        def after(data):
            obj = raw('subscription', data['id'])
            hidden(obj).update(keep)
            self.apply_discount(obj, coupon, obj.customer, obj.id)
            if cancel_at_period_end is not None:
                obj.cancel_at_period_end = to_bool(cancel_at_period_end)
            if cancel_at:
                obj.cancel_at = to_int(cancel_at, 'cancel_at')
            return obj._export()
        customer = b.get('customer')
        return await self.with_payment_method(
            customer, keep.get('default_payment_method'),
            lambda: self.generic(call, kind='subscription', after=after))

    async def update_subscription(self, call, id):
        check_expand('subscription', call.expand)
        obj = raw('subscription', id)
        if obj is None:
            raise missing('subscription', id, 'id')
        b = call.body
        coupon = None
        if b.has('discounts') or b.has('coupon'):
            coupon = self.take_coupon(b, 'discounts')
        keep, proration = self.take_subscription_params(b)
        if proration is not None:
            b.set('prorate', 'false' if proration == 'none' else 'true')
        h = hidden(obj)
        cancel = b.get('cancel_at_period_end') in ('true', 'True') or \
            bool(b.get('cancel_at'))
        details = keep.pop('cancellation_details', None)
        if details is not None or cancel:
            current = dict(h.get('cancellation_details') or {})
            current.update(details or {})
            if cancel:
                current['reason'] = 'cancellation_requested'
                keep['canceled_at'] = now()
            keep['cancellation_details'] = current
        if b.get('cancel_at_period_end') in ('false', 'False'):
            keep['cancellation_details'] = None
            keep['canceled_at'] = None
        # localstripe takes `metadata` on a subscription update but never
        # stores it; Stripe merges it (an empty value removes a key).
        metadata = b.pop('metadata') if b.has('metadata') else None

        def after(data=None):
            h.update(keep)
            if isinstance(metadata, dict):
                merged = dict(obj.metadata or {})
                for key, value in metadata.items():
                    if value in (None, ''):
                        merged.pop(key, None)
                    else:
                        merged[key] = str(value)
                obj.metadata = merged
            self.apply_discount(obj, coupon, obj.customer, obj.id)
            return obj._export()
        if not b.pairs:
            after()
            R.store.dump_to_disk()
            return json_response(expand(pin_subscription(obj._export()),
                                        'subscription', call.expand),
                                 200, call.version)
        pm = keep.get('default_payment_method',
                      h.get('default_payment_method'))
        return await self.with_payment_method(
            obj.customer, pm,
            lambda: self.generic(call, kind='subscription', after=after))

    async def cancel_subscription(self, call, id):
        check_expand('subscription', call.expand)
        obj = raw('subscription', id)
        if obj is None or obj.status == 'canceled':  # Stripe: as if gone
            raise missing('subscription', id, 'id')
        details = call.query.get('cancellation_details') or \
            call.body.get('cancellation_details') or {}
        for p in (call.query, call.body):
            for name in ('cancellation_details', 'invoice_now', 'prorate'):
                p.pop(name)
        h = hidden(obj)
        current = dict(h.get('cancellation_details') or {})
        for name in ('comment', 'feedback'):
            if details.get(name):
                current[name] = details[name]
        current['reason'] = 'cancellation_requested'

        def after(data):
            h['cancellation_details'] = current
            h['canceled_at'] = now()
            return obj._export()
        return await self.generic(call, kind='subscription', after=after)

    # -- refunds --------------------------------------------------------------

    async def create_refund(self, call):
        check_expand('refund', call.expand)
        b = call.body
        reason = b.pop('reason')
        if reason is not None and reason not in (
                'duplicate', 'fraudulent', 'requested_by_customer'):
            raise StripeError(400, 'Invalid reason: must be one of duplicate, '
                                   'fraudulent, or requested_by_customer',
                              param='reason')
        for name in ('refund_application_fee', 'reverse_transfer',
                     'instructions_email', 'origin', 'customer'):
            b.pop(name)
        charge = raw('charge', b.get('charge'))
        pi = raw('payment_intent', b.get('payment_intent'))
        if charge is None and pi is not None:
            charge = pi.latest_charge
        if charge is not None and charge.status == 'succeeded':
            left = charge.amount - charge.amount_refunded
            amount = b.get('amount')
            if left <= 0:
                raise StripeError(
                    400, 'Charge %s has already been refunded.' % charge.id,
                    code='charge_already_refunded', param='charge')
            if amount is not None and to_int(amount, 'amount') > left:
                raise StripeError(
                    400, 'Refund amount (%s) is greater than unrefunded '
                         'amount on charge (%s)' % (
                             money(to_int(amount, 'amount'), charge.currency),
                             money(left, charge.currency)),
                    code='amount_too_large', param='amount')

        def after(data):
            obj = raw('refund', data['id'])
            if reason:
                hidden(obj)['reason'] = reason
            return obj._export()
        return await self.generic(call, kind='refund', after=after)

    async def charge_refunds(self, call, id):
        if raw('charge', id) is None:
            raise missing('charge', id)
        call.query.set('charge', id)
        return await self.generic(call, kind='list:refund',
                                  path='/v1/refunds')

    # -- invoices and payment intents -----------------------------------------

    INVOICE_KEEP = ('collection_method', 'days_until_due', 'due_date',
                    'auto_advance')
    INVOICE_DROP = ('default_payment_method', 'footer', 'automatic_tax',
                    'currency', 'custom_fields', 'payment_settings',
                    'rendering', 'shipping_cost', 'shipping_details',
                    'statement_descriptor', 'number', 'on_behalf_of',
                    'issuer', 'effective_at', 'from_invoice',
                    'account_tax_ids', 'discounts', 'transfer_data',
                    'default_source', 'application_fee_amount')

    async def create_invoice(self, call):
        """Stripe creates a draft for any customer (with its pending items
        only when pending_invoice_items_behavior=include); localstripe only
        bills subscriptions, so one-off invoices are built here with its
        Invoice class."""
        check_expand('invoice', call.expand)
        b = call.body
        keep = {}
        for name in self.INVOICE_KEEP:
            if b.has(name):
                keep[name] = b.pop(name)
        for name in self.INVOICE_DROP:
            b.pop(name)
        p = b.nested()
        if p.get('subscription'):
            return await self.generic(call, kind='invoice')
        customer = p.get('customer')
        if not customer:
            raise StripeError(400, 'Missing required param: customer.',
                              param='customer')
        if raw('customer', customer) is None:
            raise missing('customer', customer, 'customer')
        unknown = set(p) - {'customer', 'description', 'metadata',
                            'default_tax_rates',
                            'pending_invoice_items_behavior'}
        if unknown:
            name = sorted(unknown)[0]
            raise StripeError(400, 'Received unknown parameter: ' + name,
                              param=name)
        behavior = p.get('pending_invoice_items_behavior') or 'exclude'
        held = []
        if behavior == 'exclude':
            held = [ii for ii in raw_all('invoiceitem')
                    if ii.invoice is None and ii.customer == customer]
            for ii in held:
                ii.invoice = 'held'
        try:
            inv = R.Invoice(customer=customer,
                            description=p.get('description'),
                            metadata=p.get('metadata'),
                            default_tax_rates=p.get('default_tax_rates'))
        except UserError as e:
            return e.to_response()
        finally:
            for ii in held:
                ii.invoice = None
        if keep.get('days_until_due'):
            keep['due_date'] = now() + 86400 * to_int(
                keep['days_until_due'], 'days_until_due')
        hidden(inv).update(keep)
        R.store.dump_to_disk()
        return json_response(expand(pin_invoice(inv._export()), 'invoice',
                                    call.expand), 200, call.version)

    async def void_invoice(self, call, id):
        obj = raw('invoice', id)
        if obj is None:
            raise missing('invoice', id)
        if obj.payment_intent:  # localstripe cancels its payment intent
            return await self.generic(call, kind='invoice')
        check_expand('invoice', call.expand)
        if obj.status != 'open':
            raise StripeError(400, 'You can only pass in open invoices. This '
                                   'invoice isn\'t open.',
                              code='invoice_not_editable')
        obj._voided = True
        obj.status_transitions['voided_at'] = now()
        R.store.dump_to_disk()
        return json_response(expand(pin_invoice(obj._export()), 'invoice',
                                    call.expand), 200, call.version)

    async def finalize_invoice(self, call, id):
        check_expand('invoice', call.expand)
        obj = raw('invoice', id)
        if obj is None:
            raise missing('invoice', id)
        if obj.status != 'draft':
            raise StripeError(400, 'This invoice is already finalized, you '
                                   'can\'t re-finalize a non-draft invoice.',
                              code='invoice_not_editable')
        obj._finalize()
        R.store.dump_to_disk()
        return json_response(expand(pin_invoice(obj._export()), 'invoice',
                                    call.expand), 200, call.version)

    async def mark_uncollectible(self, call, id):
        """localstripe has no uncollectible status: kept here; the invoice
        stays payable (and is `paid` once paid)."""
        check_expand('invoice', call.expand)
        obj = raw('invoice', id)
        if obj is None:
            raise missing('invoice', id)
        if obj.status != 'open':
            raise StripeError(400, 'You can only mark open invoices as '
                                   'uncollectible.',
                              code='invoice_not_editable')
        hidden(obj).setdefault('uncollectible_at', now())
        R.store.dump_to_disk()
        return json_response(expand(pin_invoice(obj._export()), 'invoice',
                                    call.expand), 200, call.version)

    async def pay_invoice(self, call, id):
        obj = raw('invoice', id)
        if obj is None:
            raise missing('invoice', id)
        pm = call.body.pop('payment_method')
        for name in ('off_session', 'forgive', 'paid_out_of_band', 'source',
                     'mandate'):
            call.body.pop(name)
        return await self.with_payment_method(
            obj.customer, pm, lambda: self.generic(call, kind='invoice'))

    async def create_payment_intent(self, call):
        b = call.body
        keep = {}
        if b.has('description'):
            keep['description'] = b.pop('description')
        for name in ('automatic_payment_methods', 'return_url',
                     'receipt_email', 'setup_future_usage',
                     'statement_descriptor', 'statement_descriptor_suffix',
                     'error_on_requires_action', 'mandate', 'mandate_data',
                     'shipping', 'confirmation_method', 'use_stripe_sdk',
                     'radar_options', 'transfer_data', 'transfer_group',
                     'on_behalf_of', 'application_fee_amount',
                     'payment_method_configuration',
                     'excluded_payment_method_types'):
            b.pop(name)

        def after(data):
            obj = raw('payment_intent', data['id'])
            hidden(obj).update(keep)
            return obj._export()
        return await self.generic(call, kind='payment_intent', after=after)

    async def cancel_payment_intent(self, call, id):
        reason = call.body.pop('cancellation_reason')
        obj = raw('payment_intent', id)

        def after(data):
            hidden(obj).update({'canceled_at': now(),
                                'cancellation_reason': reason})
            return obj._export()
        return await self.generic(call, kind='payment_intent', after=after)

    async def create_invoice_item(self, call):
        check_expand('invoiceitem', call.expand)
        b = call.body
        b.rename(r'^price$', 'plan')
        b.rename(r'^pricing\[price\]$', 'plan')
        for name in ('discountable', 'discounts', 'tax_behavior', 'tax_code',
                     'unit_amount_decimal', 'price_data', 'pricing',
                     'quantity', 'unit_amount'):
            b.pop(name)
        if b.get('plan') and not b.get('amount'):
            plan = raw('plan', b.get('plan'))
            if plan is None:
                raise missing('price', b.get('plan'), 'price')
            b.set('amount', plan.amount)
            if not b.get('currency'):
                b.set('currency', plan.currency)
        inv = None
        if b.get('invoice'):
            inv = raw('invoice', b.get('invoice'))
            if inv is None:
                raise missing('invoice', b.get('invoice'), 'invoice')
            if inv.status != 'draft':
                raise StripeError(400, 'You can only add invoice items to '
                                       'draft invoices.', param='invoice',
                                  code='invoice_not_editable')

        def after(data):
            ii = raw('invoiceitem', data['id'])
            if inv is not None:  # localstripe does not add it to the lines
                inv.lines._list.append(R.InvoiceLineItem(ii))
                inv.currency = inv.lines._list[0].currency
            return ii._export()
        return await self.generic(call, kind='invoiceitem', after=after)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def bind(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(args):
    if not args.from_scratch:
        R.store.try_load_from_disk()
    if args.in_memory:
        keep_in_memory()

    inner_sock = bind(args.internal_port)
    inner_port = inner_sock.getsockname()[1]
    inner = web.AppRunner(localstripe_app, access_log=None)
    await inner.setup()
    await web.SockSite(inner, inner_sock).start()

    layer = Layer('http://127.0.0.1:%d' % inner_port)
    await layer.start()
    outer_app = web.Application(client_max_size=16 * 1024 * 1024)
    outer_app.router.add_route('*', '/{tail:.*}', layer.handle)
    outer = web.AppRunner(outer_app, access_log=None)
    await outer.setup()
    await web.SockSite(outer, bind(args.port)).start()

    print('listening on http://127.0.0.1:%d' % args.port, flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    await outer.cleanup()
    await layer.close()
    await inner.cleanup()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='localstripe answering in the shape of Stripe API '
                    + PINNED_VERSION)
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--from-scratch', action='store_true',
                        help="localstripe's: start with an empty store")
    parser.add_argument('--in-memory', action='store_true',
                        help='never write /tmp/localstripe.pickle, and list '
                             'from a per-kind index (a store of thousands)')
    parser.add_argument('--internal-port', type=int, default=0,
                        help="localstripe's own loopback port (default: any "
                             "free one)")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    try:
        asyncio.run(serve(args))
    except OSError as e:
        print('stripe_pinned: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
