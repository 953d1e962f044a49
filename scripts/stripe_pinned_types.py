#!/usr/bin/env python3
"""Checks JSON against async-stripe's generated types, without cargo.

async-stripe-shared (the crate generated for the pinned Stripe API version)
deserialises every object with miniserde through a builder whose
`fn deser_default()` says which fields are required: a field initialised to
`None` must be present and non-null, `Some(None)` is optional or nullable.
This module reads those generated sources (the registry copy under
~/.cargo/registry/src/*/async-stripe-shared-<version>/src) and applies the
same rules to a JSON value, recursively, so a fixture or an answer of
scripts/stripe_pinned.py can be checked the way the bot will read it:

  * struct: every required key present and non-null, each known key of the
    right type (unknown keys are ignored, as miniserde does);
  * `Option<T>`: null or T;  `Vec<T>`: array of T;  `HashMap<String, T>`;
  * `stripe_types::Expandable<T>`: an id string or a T object;
  * `stripe_types::List<T>`: `{data: [T], has_more: bool, url: str}`;
  * string enums (all generated with an `Unknown(String)` fallback): any
    string;  ids, `Currency`: strings;  `Timestamp`, `i64`, `u64`…: integers
    (a JSON float is refused), `f64`: any number;
  * enums tagged by `object` (PaymentSource…): the variant named by it.

Usage:
  python scripts/stripe_pinned_types.py TYPE FILE.json      # e.g. Invoice
  python scripts/stripe_pinned_types.py --auto FILE.json    # by `object`
  python scripts/stripe_pinned_types.py --required TYPE     # list its fields
Exit status 1 and one line per problem when the JSON would not deserialise.
"""

import glob
import json
import os
import re
import sys

CRATE = 'async-stripe-shared-1.0.0-rc.10'

# `object` value -> generated type, for --auto and for lists' items.
OBJECT_TYPES = {
    'charge': 'Charge',
    'coupon': 'Coupon',
    'customer': 'Customer',
    'discount': 'Discount',
    'invoice': 'Invoice',
    'invoice_payment': 'InvoicePayment',
    'line_item': 'InvoiceLineItem',
    'payment_intent': 'PaymentIntent',
    'payment_method': 'PaymentMethod',
    'plan': 'Plan',
    'price': 'Price',
    'product': 'Product',
    'refund': 'Refund',
    'subscription': 'Subscription',
    'subscription_item': 'SubscriptionItem',
    'balance_transaction': 'BalanceTransaction',
    'tax_rate': 'TaxRate',
}

INT_TYPES = {'i64', 'u64', 'i32', 'u32', 'u8', 'u16', 'i8', 'i16',
             'Timestamp'}


def crate_dir():
    pattern = os.path.expanduser(
        '~/.cargo/registry/src/*/%s/src' % CRATE)
    found = sorted(glob.glob(pattern))
    if not found:
        raise SystemExit('stripe_pinned_types: %s not found under '
                         '~/.cargo/registry/src' % CRATE)
    return found[0]


def _strip_path(ty):
    ty = ty.strip()
    # drop crate paths: stripe_shared::X, stripe_types::X, crate::X, super::X
    return re.sub(r'\b(?:[a-z_][a-z0-9_]*::)+', '', ty)


def _split_generic(ty):
    """'Outer<A, B<C>>' -> ('Outer', ['A', 'B<C>']); 'X' -> ('X', [])."""
    ty = ty.strip()
    if '<' not in ty:
        return ty, []
    outer, inner = ty.split('<', 1)
    inner = inner[:inner.rfind('>')]
    return outer.strip(), _split_top(inner)


def _split_top(text):
    """Split on the commas outside <> and ()."""
    parts, depth, cur = [], 0, ''
    for ch in text:
        if ch in '<(':
            depth += 1
        elif ch in '>)':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur.strip())
            cur = ''
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


class Schema:
    """Structs, string enums and object-tagged enums of the crate."""

    def __init__(self, src=None):
        self.src = src or crate_dir()
        self.structs = {}   # name -> {json_key: (type, required)}
        self.enums = set()  # string enums
        self.tagged = {}    # name -> {object value: type}
        self.ids = set()    # def_id! types
        self.field_counts = {}  # parser self-check: builder fields,
        #                          key() arms, deser_default() entries
        for path in glob.glob(os.path.join(self.src, '*.rs')):
            with open(path, encoding='utf-8') as f:
                self._parse(f.read())

    def _parse(self, text):
        for m in re.finditer(r'def_id!\((\w+)', text):
            self.ids.add(m.group(1))
        # builders: field types
        for m in re.finditer(
                r'pub struct (\w+)Builder\s*\{([^{}]*)\}', text):
            name, body = m.group(1), m.group(2)
            ftypes = {}
            body = re.sub(r'\s+', ' ', re.sub(r'//.*', '', body))
            for part in _split_top(body):
                if ':' in part:
                    fname, fty = part.split(':', 1)
                    ftypes[fname.strip()] = fty.strip()
            # the builder's MapBuilder impl: key() and deser_default()
            im = re.search(r'impl MapBuilder\s+for %sBuilder\s*\{(.*?)'
                           r'fn take_out' % name, text, re.S)
            if not im:
                continue
            impl = im.group(1)
            keys = dict((km.group(2), km.group(1)) for km in re.finditer(
                r'"([^"]+)" => \{?\s*Deserialize::begin\(&mut self\.(\w+)\)',
                impl))
            dm = re.search(r'fn deser_default\(\) -> Self \{\s*Self \{(.*?)\}'
                           r'\s*\}', impl, re.S)
            defaults = {}
            if dm:
                for d in re.finditer(r'(\w+): (None|Some\(None\)|[^,]+),',
                                     dm.group(1) + ','):
                    defaults[d.group(1)] = d.group(2).strip()
            fields = {}
            for field, jkey in keys.items():
                bty = ftypes.get(field)
                if bty is None:
                    continue
                # builder type is Option<T>: T is the field's type
                outer, args = _split_generic(_strip_path(bty))
                assert outer == 'Option', (name, field, bty)
                inner = args[0]
                required = defaults.get(field) == 'None'
                fields[jkey] = (inner, required)
            self.structs[name] = fields
            self.field_counts[name] = (len(ftypes), len(keys), len(defaults))
        # string enums
        for m in re.finditer(r'impl std::str::FromStr\s+for (\w+)\s*\{',
                             text):
            self.enums.add(m.group(1))
        # object-tagged enums
        for m in re.finditer(
                r'impl (\w+) \{\s*fn construct\(key: &str, o: '
                r'miniserde::json::Object\) -> Option<Self> \{(.*?)\n\s*_ =>',
                text, re.S):
            variants = {}
            for vm in re.finditer(r'"([^"]+)" => \{?\s*Self::(\w+)\(',
                                  m.group(2)):
                variants[vm.group(1)] = vm.group(2)
            # variant name -> type from the enum definition
            em = re.search(r'pub enum %s \{(.*?)\n\}' % m.group(1), text,
                           re.S)
            vtypes = dict(re.findall(r'(\w+)\(([\w:]+)\)', em.group(1)))
            self.tagged[m.group(1)] = {
                k: _strip_path(vtypes[v]) for k, v in variants.items()}

    # -- checking ---------------------------------------------------------

    def check(self, ty, value, path='$'):
        """Problems (a list of strings) deserialising value as type ty."""
        errors = []
        self._check(_strip_path(ty), value, path, errors)
        return errors

    def _check(self, ty, v, path, errors):
        outer, args = _split_generic(ty)
        if outer == 'Option':
            if v is not None:
                self._check(args[0], v, path, errors)
            return
        if v is None:
            errors.append('%s: null where %s is required' % (path, ty))
            return
        if outer == 'Box':
            return self._check(args[0], v, path, errors)
        if outer == 'Vec':
            if not isinstance(v, list):
                errors.append('%s: expected array (%s)' % (path, ty))
                return
            for i, item in enumerate(v):
                self._check(args[0], item, '%s[%d]' % (path, i), errors)
            return
        if outer in ('HashMap', 'BTreeMap'):
            if not isinstance(v, dict):
                errors.append('%s: expected object (%s)' % (path, ty))
                return
            for k, item in v.items():
                self._check(args[1], item, '%s.%s' % (path, k), errors)
            return
        if outer == 'Expandable':
            if isinstance(v, str):
                return
            if not isinstance(v, dict):
                errors.append('%s: expected id or object (%s)' % (path, ty))
                return
            return self._check(args[0], v, path, errors)
        if outer == 'List':
            if not isinstance(v, dict):
                errors.append('%s: expected list object' % path)
                return
            for key, kty in (('data', 'Vec<%s>' % args[0]),
                             ('has_more', 'bool'), ('url', 'String')):
                if key not in v:
                    errors.append('%s: list lacks %s' % (path, key))
                else:
                    self._check(kty, v[key], '%s.%s' % (path, key), errors)
            return
        if outer == 'bool':
            if not isinstance(v, bool):
                errors.append('%s: expected bool, got %r' % (path, v))
            return
        if outer in INT_TYPES:
            if isinstance(v, bool) or not isinstance(v, int):
                errors.append('%s: expected integer, got %r' % (path, v))
            elif outer.startswith('u') and v < 0:
                errors.append('%s: expected unsigned, got %r' % (path, v))
            return
        if outer in ('f64', 'f32', 'Decimal'):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                errors.append('%s: expected number, got %r' % (path, v))
            return
        if outer in ('String', 'str', 'Currency', 'SmolStr') \
                or outer in self.ids or outer in self.enums:
            if outer in self.structs:
                pass  # a struct that also implements FromStr: unlikely
            elif not isinstance(v, str):
                errors.append('%s: expected string (%s), got %r'
                              % (path, outer, v))
                return
            else:
                return
        if outer == 'Value':
            return
        if outer == 'AlwaysTrue':
            if v is not True:
                errors.append('%s: expected true, got %r' % (path, v))
            return
        if outer in self.tagged:
            obj = v.get('object') if isinstance(v, dict) else None
            if obj not in self.tagged[outer]:
                errors.append('%s: %s needs object in %s, got %r' % (
                    path, outer, sorted(self.tagged[outer]), obj))
                return
            return self._check(self.tagged[outer][obj], v, path, errors)
        if outer in self.structs:
            if not isinstance(v, dict):
                errors.append('%s: expected %s object, got %r'
                              % (path, outer, v))
                return
            for key, (fty, required) in self.structs[outer].items():
                if key not in v:
                    if required:
                        errors.append('%s: %s lacks required %s'
                                      % (path, outer, key))
                    continue
                if required and v[key] is None:
                    errors.append('%s.%s: null, required by %s'
                                  % (path, key, outer))
                    continue
                self._check(fty if required else 'Option<%s>' % fty,
                            v[key], '%s.%s' % (path, key), errors)
            return
        errors.append('%s: unknown type %s' % (path, ty))

    def check_auto(self, value, path='$'):
        """Check by the `object` field; a list checks each item."""
        if not isinstance(value, dict):
            return ['%s: not an object' % path]
        obj = value.get('object')
        if obj == 'list' or obj == 'search_result':
            errors = []
            for key, kty in (('has_more', 'bool'), ('url', 'String')):
                if key not in value:
                    errors.append('%s: list lacks %s' % (path, key))
            data = value.get('data')
            if not isinstance(data, list):
                return errors + ['%s: list lacks data' % path]
            for i, item in enumerate(data):
                errors += self.check_auto(item, '%s.data[%d]' % (path, i))
            return errors
        if obj not in OBJECT_TYPES:
            return []  # nothing generated to compare with (e.g. errors)
        return self.check(OBJECT_TYPES[obj], value, path)

    def required(self, ty):
        return sorted(k for k, (_, req) in self.structs[ty].items() if req)


_schema = None


def schema():
    global _schema
    if _schema is None:
        _schema = Schema()
    return _schema


def main(argv):
    if len(argv) == 2 and argv[0] == '--required':
        s = schema()
        for k, (ty, req) in sorted(s.structs[argv[1]].items()):
            print('%-40s %-8s %s' % (k, 'REQUIRED' if req else 'optional',
                                     ty))
        return 0
    if len(argv) != 2:
        print(__doc__)
        return 2
    with open(argv[1]) as f:
        value = json.load(f)
    s = schema()
    errors = (s.check_auto(value) if argv[0] == '--auto'
              else s.check(argv[0], value))
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
