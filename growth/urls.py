"""Growth pages, under /t/<tenant_slug>/growth/ (kam/urls.py): each views module keeps its
own ``urlpatterns``."""

from __future__ import annotations

from growth.views import catalogue, centres, figures, opportunities, whitespace

urlpatterns = [
    *catalogue.urlpatterns,
    *centres.urlpatterns,
    *whitespace.urlpatterns,
    *opportunities.urlpatterns,
    *figures.urlpatterns,
]
