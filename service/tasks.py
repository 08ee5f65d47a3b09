"""Celery entry points of service: thin wrappers around service.learning (and the services).

Beat fans ``service.train_models`` out to every tenant each night (kam/celery.py)::

    {"task": "kam.fan_out", "args": ["service.train_models"]}

Training takes the tenant's advisory lock ``service:train`` (a second training of the same
tenant returns at once); each batch of ``service.classify_pending`` takes
``service:classify`` and claims its needs with SKIP LOCKED, so two runs never classify the
same need. Both run outside one long transaction (``atomic=False``): the model is stored in
its own transaction, and the pending needs are written batch by batch.
"""

from __future__ import annotations

from typing import Any

from kam.models import Tenant
from kam.tasks import queue_on_commit, tenant_task
from service import learning

# Training cross-validates on up to 20,000 needs (five fits, then one on all of them).
TRAIN_LIMITS = {"soft_time_limit": 20 * 60, "time_limit": 25 * 60}
CLASSIFY_LIMITS = {"soft_time_limit": 15 * 60, "time_limit": 20 * 60}


@tenant_task(name="service.classify_pending", atomic=False, **CLASSIFY_LIMITS)
def classify_pending(tenant: Tenant) -> dict[str, int]:
    """Classify again the new needs still without a category (rules, then the model in use)."""
    return learning.needs_classify_pending(tenant)


@tenant_task(name="service.train_models", atomic=False, **TRAIN_LIMITS)
def train_models(tenant: Tenant) -> dict[str, Any]:
    """Retrain the tenant's text model; when the new one is in use, the needs still waiting
    for a category get another chance with it."""
    model = learning.classifier_train(tenant)
    if model is None:
        return {"trained": False}
    if model.is_used:
        queue_on_commit(classify_pending, tenant.pk)
    return {
        "trained": True,
        "model_id": model.pk,
        "cv_accuracy": float(model.cv_accuracy),
        "rules_accuracy": float(model.rules_accuracy),
        "is_used": model.is_used,
    }
