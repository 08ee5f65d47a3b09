"""The REST API of the teams app (DESIGN section 8): teams/, team-members/, counterparts/,
plans/ (with their initiatives and actions nested), plan-initiatives/ and plan-actions/
to write those, and staffing-rules/: serializers, filters, viewsets and their OpenAPI
description. URLs: teams/api_urls.py.

Tokens act tenant-wide with their scope; session users are held to accounts.access:
members read only their teams' accounts, managers write only the accounts they own or
serve on (an action's owner may also move its status). Related ids are looked up in the
request tenant's rows only: another tenant's id in a body is a 400 ("Invalid pk"), in a
URL a 404. Every write goes through teams.services.
"""
