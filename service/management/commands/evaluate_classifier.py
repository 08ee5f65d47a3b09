from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kam.models import Tenant
from kam.tenancy import tenant_context
from service import evaluation
from service.classify import rule_set


class Command(BaseCommand):
    help = (
        "Measure the classification of needs on the evaluation set: split it with a fixed seed into a "
        "training part (70 %) and a held-out part (30 %, stratified by category), and print, per category "
        "and overall, the accuracy of the keyword rules alone and of the rules then the text model "
        "(p >= 0.6, else the need waits for a person and counts wrong), with the coverage, as a markdown table."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=evaluation.SEED, help=f"default: {evaluation.SEED}")
        parser.add_argument("--test-share", type=float, default=evaluation.TEST_SHARE, help="default: 0.3")
        parser.add_argument("--file", type=Path, default=evaluation.EVALUATION_SET, help="the labelled needs (CSV)")
        parser.add_argument("--tenant", default=None, help="use this tenant's keyword rules (default: the seeded ones)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["test_share"] < 1:
            raise CommandError("--test-share is a fraction between 0 and 1")
        try:
            examples = evaluation.load_examples(options["file"])
        except (OSError, KeyError) as exc:
            raise CommandError(f"cannot read the evaluation set {options['file']}: {exc}") from exc
        rules = None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"], is_active=True).first()
            if tenant is None:
                raise CommandError(f"no active tenant with slug {options['tenant']!r}")
            with tenant_context(tenant):
                rules = rule_set(tenant)
        result = evaluation.evaluate(examples, rules, seed=options["seed"], test_share=options["test_share"])
        self.stdout.write(evaluation.markdown(result))
