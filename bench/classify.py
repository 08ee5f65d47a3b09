"""Time the classification of incoming needs in a batch for one tenant whose text model is in use.

    .venv/bin/python bench/classify.py [--needs 10000] [--slug bench-classify] [--keep]

Makes a scratch tenant (its categories and keyword rules seeded as for any new tenant), stores
the evaluation set (service/data/needs_eval.csv) as its needs labelled by people, and trains
its model (service.learning.classifier_train: cross-validation against the rules, then the
fit). Then it generates ``--needs`` texts from the evaluation set's vocabulary (each the
subject of one labelled need, the text of another of the same category and a sentence of a
third of any category, so that most are new combinations and some mislead) and times:

- the batch classification in memory (service.classify.classify_many: one rule set, the
  rules on every text, one vectorised prediction of the model for the texts no rule
  matched, with the terms that explain each), against the target of 60 s for 10,000 needs;
- the same needs stored as new needs without a category and classified by the pending
  sweep (service.learning.needs_classify_pending: batches of 500 claimed with SKIP LOCKED,
  classified, routed, written with one UPDATE per batch);

and prints the figures, how many got a category from a rule, from the model, or wait for a
person. The tenant is removed at the end (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from bench.generate import drop_tenant  # noqa: E402
from kam import services as kam_services  # noqa: E402
from kam.models import Tenant  # noqa: E402
from kam.tenancy import tenant_context  # noqa: E402
from service import evaluation, learning  # noqa: E402
from service.classify import classify_many  # noqa: E402
from service.models import Category, CategorySource, ClassifierModel, Need  # noqa: E402

TARGET_SECONDS = 60.0
SEED = 16


def incoming(count: int, seed: int = SEED) -> list[tuple[str, str]]:
    """``count`` (subject, body) pairs recombined from the evaluation set."""
    examples = evaluation.load_examples()
    by_category: dict[str, list[evaluation.Example]] = {}
    for example in examples:
        by_category.setdefault(example.category, []).append(example)
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        first = rng.choice(examples)
        second = rng.choice(by_category[first.category])
        third = rng.choice(examples)
        aside = (third.body or third.subject).split("。")[0].split(". ")[0]
        texts.append((first.subject, f"{second.body} {aside}".strip()))
    return texts


def prepare(slug: str) -> Tenant:
    existing = Tenant.objects.filter(slug=slug).first()
    if existing is not None:
        drop_tenant(existing)
    tenant = kam_services.tenant_create(slug=slug, name=f"Bench {slug}")
    with tenant_context(tenant):
        categories = {category.key: category for category in Category.objects.all()}
        now = timezone.now()
        Need.objects.bulk_create(
            [
                Need(
                    tenant=tenant,
                    subject=example.subject,
                    body=example.body,
                    received_at=now,
                    category=categories[example.category],
                    category_source=CategorySource.PERSON,
                    status="closed",
                    classification={"person": {"from": None, "to": example.category}},
                )
                for example in evaluation.load_examples()
            ]
        )
    return tenant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--slug", default="bench-classify")
    parser.add_argument("--keep", action="store_true", help="keep the scratch tenant")
    args = parser.parse_args()

    tenant = prepare(args.slug)
    try:
        started = time.perf_counter()
        model = learning.classifier_train(tenant)
        trained = time.perf_counter() - started
        assert model is not None
        print(
            f"{args.slug}: model trained on {model.samples} labelled needs in {trained:.1f} s: "
            f"cross-validated accuracy {model.cv_accuracy:.3f} against the rules' {model.rules_accuracy:.3f}, "
            f"{'in use' if model.is_used else 'not in use'}"
        )
        if not model.is_used:
            # The bench measures the path with a model; say so when the figures had to force it.
            with tenant_context(tenant):
                ClassifierModel.objects.filter(pk=model.pk).update(is_used=True)
            print("  (the model did not beat the rules; used anyway for this bench)")

        texts = incoming(args.needs)
        with tenant_context(tenant):
            started = time.perf_counter()
            learning.model_in_use(tenant)
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            answers = classify_many(tenant, texts)
            seconds = time.perf_counter() - started
        by_source = {CategorySource.RULE: 0, CategorySource.MODEL: 0, "": 0}
        for answer in answers:
            by_source[answer.source if answer.category_key else ""] += 1
        print(f"  model loaded (unpickled) once in {loaded * 1000:.0f} ms")
        print(
            f"  classify {len(texts):,} needs in a batch (rules, then the model): {seconds:.2f} s "
            f"({len(texts) / seconds:,.0f} per second), target < {TARGET_SECONDS:.0f} s: "
            f"{'met' if seconds < TARGET_SECONDS else 'MISSED'}"
        )
        print(
            f"    by a rule {by_source[CategorySource.RULE]:,}, by the model {by_source[CategorySource.MODEL]:,}, "
            f"waiting for a person {by_source['']:,}"
        )

        with tenant_context(tenant):
            now = timezone.now()
            Need.objects.bulk_create(
                [Need(tenant=tenant, subject=subject[:300], body=body, received_at=now) for subject, body in texts],
                batch_size=2000,
            )
        started = time.perf_counter()
        result = learning.needs_classify_pending(tenant)
        pending = time.perf_counter() - started
        print(
            f"  the pending sweep over {result['seen']:,} stored new needs (claim, classify, route, write): "
            f"{pending:.2f} s, {result['classified']:,} got a category"
        )
        print(f"  peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        if not args.keep:
            drop_tenant(tenant)
            print(f"{args.slug}: removed")


if __name__ == "__main__":
    main()
