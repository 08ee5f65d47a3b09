"""Which offering and which buying centre an order counts for, as SQL every growth statement
shares (whitespace, forecasts, the bench), so that the rule lives in one place:

- its offering: the tenant's offering whose code is the order's ``offering``; when the order
  names none, the offering its ``product_line`` maps to (ProductLineMapping, matched on
  lower(btrim(product_line))); else none;
- its buying centre: the account's buying centre whose code is the order's
  ``buying_centre``; when the order names none (or one the account does not have), the
  account's primary buying centre; else none.

:func:`attributed_orders` is a subquery with the columns ``id, account_id, order_date,
amount, offering_id, buying_centre_id``: every order of the tenant in the window, also
those with no offering or buying centre (NULL). Every table in it is filtered by the tenant
and joined on it, so that it runs as a router query on Citus.
"""

from __future__ import annotations

ATTRIBUTED_ORDERS = """
SELECT o.id, o.account_id, o.order_date, o.amount,
       coalesce(named.id, mapped.offering_id) AS offering_id,
       coalesce(centre.id, primary_centre.id) AS buying_centre_id
FROM accounts_order o
LEFT JOIN growth_offering named
       ON named.tenant_id = o.tenant_id AND o.offering <> '' AND named.code = o.offering
LEFT JOIN growth_productlinemapping mapped
       ON mapped.tenant_id = o.tenant_id AND o.offering = ''
      AND mapped.product_line_key = lower(btrim(o.product_line))
LEFT JOIN growth_buyingcentre centre
       ON centre.tenant_id = o.tenant_id AND centre.account_id = o.account_id
      AND o.buying_centre <> '' AND centre.code = o.buying_centre
LEFT JOIN growth_buyingcentre primary_centre
       ON primary_centre.tenant_id = o.tenant_id AND primary_centre.account_id = o.account_id
      AND primary_centre.is_primary AND centre.id IS NULL
WHERE o.tenant_id = %(tenant)s{where}
"""


def attributed_orders(where: str = "") -> str:
    """The subquery, with extra conditions on ``o`` (e.g. ``" AND o.account_id = %(account)s
    AND o.order_date > %(since)s"``) inside it."""
    return ATTRIBUTED_ORDERS.format(where=where)
