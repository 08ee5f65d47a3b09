"""Classification of needs (DESIGN section 11): the tenant's keyword rules first, then its
text model when it has one in use; below confidence 0.6 a need waits for a person.
Every automatic category says why (``reason``), and the page shows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kam.models import Tenant
from kam.tenancy import tenant_selector
from service.models import CategorySource, KeywordRule

# Below this probability the model's guess is not used: the need waits for a person.
CONFIDENCE_THRESHOLD = 0.6


@dataclass(frozen=True)
class Classification:
    """A category key (None: waits for a person), how it was found, and why."""

    category_key: str | None
    source: str = ""
    confidence: float | None = None
    reason: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """A tenant's active keyword rules: [(keyword lower-cased, category key, weight)], and the
    category order that breaks ties."""

    rules: list[tuple[str, str, int]]
    order: dict[str, int]

    def classify(self, subject: str, body: str) -> Classification:
        text = f"{subject}\n{body}".casefold()
        scores: dict[str, int] = {}
        matched: dict[str, list[str]] = {}
        for keyword, key, weight in self.rules:
            if keyword and keyword in text:
                scores[key] = scores.get(key, 0) + weight
                matched.setdefault(key, []).append(keyword)
        if not scores:
            return Classification(None)
        best = max(scores, key=lambda key: (scores[key], -self.order.get(key, 999)))
        total = sum(scores.values())
        return Classification(
            best,
            CategorySource.RULE,
            round(scores[best] / total, 4),
            {"rule": {"keywords": matched[best], "points": scores[best]}},
        )


@tenant_selector
def rule_set(tenant: Tenant) -> RuleSet:
    rows = (
        KeywordRule.objects.filter(is_active=True, category__is_active=True)
        .order_by("category__position", "keyword", "id")
        .values_list("keyword", "category__key", "weight", "category__position")
    )
    rules = [(keyword.casefold(), key, weight) for keyword, key, weight, _position in rows]
    order: dict[str, int] = {}
    for _keyword, key, _weight, position in rows:
        order.setdefault(key, position)
    return RuleSet(rules, order)


def classify(tenant: Tenant, subject: str, body: str) -> Classification:
    """The rules, then the tenant's model in use (service.learning), then nothing. Below
    confidence 0.6 the model's answer has no category (``category_key`` None) and says why
    (``reason["model_unsure"]``: its probability and best guess), for the page to show."""
    found = rule_set(tenant).classify(subject, body)
    if found.category_key:
        return found
    from service import learning

    return learning.predict(tenant, subject, body) or found


def classify_many(tenant: Tenant, items: Sequence[tuple[str, str]]) -> list[Classification]:
    """:func:`classify` for many (subject, body) at once: one rule set, one model load and one
    vectorised prediction for the texts that no rule matched."""
    rules = rule_set(tenant)
    found = [rules.classify(subject, body) for subject, body in items]
    misses = [index for index, answer in enumerate(found) if not answer.category_key]
    if misses:
        from service import learning

        predicted = learning.predict_many(tenant, [items[index] for index in misses])
        for index, answer in zip(misses, predicted, strict=True):
            if answer is not None:
                found[index] = answer
    return found
