"""The REST API of the accounts app (DESIGN section 8): serializers, filters, viewsets
and their OpenAPI description. URLs: accounts/api_urls.py."""
