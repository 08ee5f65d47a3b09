"""The REST API of the risk app (DESIGN section 8): alerts (acknowledge, resolve, assign,
snooze), concentration (latest and history), accounts/{id}/health/, risk-runs/
(?wait=true), contingency-plans/, webhooks/ (with test/, rotate-secret/ and the delivery
log), risk-policy/ and the caller's notifications/: serializers, filters, viewsets and
their OpenAPI description. URLs: risk/api_urls.py.

Tokens act tenant-wide with their scope; session users are held to their role and to
accounts.access (a team member reads the alerts, health and plans of the accounts they
read; a manager changes those of the accounts they write). Another tenant's id is 404.
Money is a string with two decimals, shares are numbers from 0 to 1, scores numbers
with two decimals. Every write goes through risk.services.
"""
