"""Portfolio and incentives (激励机制: 长期关系优先), DESIGN section 13: the tenant's weights of
the incentive index. The portfolios themselves are computed from the snapshots
(portfolio/engine.py) and stored nowhere."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from kam.models import TenantOwnedModel

DEFAULT_WEIGHTS = {"revenue": 40, "health": 40, "growth": 20}


class PortfolioWeights(TenantOwnedModel):
    """The incentive index's weights (revenue, health, growth), summing to 100: one row per
    tenant; a tenant without one uses DEFAULT_WEIGHTS."""

    revenue = models.PositiveSmallIntegerField(
        _("revenue weight"), default=40, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    health = models.PositiveSmallIntegerField(
        _("health weight"), default=40, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    growth = models.PositiveSmallIntegerField(
        _("growth weight"), default=20, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("portfolio weights")
        verbose_name_plural = _("portfolio weights")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="portfolioweights_one_per_tenant"),
            models.CheckConstraint(
                condition=Q(revenue__gte=0, revenue__lte=100)
                & Q(health__gte=0, health__lte=100)
                & Q(growth__gte=0, growth__lte=100),
                name="portfolioweights_each_0_100",
                violation_error_message=_("Each weight lies between 0 and 100."),
            ),
            models.CheckConstraint(
                condition=Q(revenue=100 - F("health") - F("growth")),
                name="portfolioweights_sum_100",
                violation_error_message=_("The weights must sum to 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.revenue}/{self.health}/{self.growth}"

    def as_dict(self) -> dict[str, int]:
        return {"revenue": self.revenue, "health": self.health, "growth": self.growth}
