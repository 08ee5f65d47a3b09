"""The tenant's text model (DESIGN section 11): trained only on its own needs labelled by people,
from 50 of them; its cross-validated accuracy against the rules' decides whether it is used;
below confidence 0.6 a need waits for a person; every answer explains itself; the nightly
training per tenant; the pending needs classified in batches; the evaluation set.

The synthetic needs use words that no seeded keyword rule knows, so that the rules miss
them unless a test adds a keyword on purpose."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from kam import nightly
from kam.celery import app
from kam.tasks import fan_out
from kam.tenancy import tenant_context
from service import defaults, evaluation, learning, services, tasks
from service.classify import CONFIDENCE_THRESHOLD, classify, classify_many
from service.models import Category, CategorySource, ClassifierModel, KeywordRule, Need, NeedStatus

pytestmark = pytest.mark.django_db

ENGLISH = {
    "delivery": ["truck", "pallet", "warehouse", "courier", "forklift"],
    "product_inquiry": ["widget", "gizmo", "sprocket", "gearbox", "bracket"],
    "other": ["holiday", "greetings", "newsletter", "birthday", "picnic"],
}
CHINESE = {
    "delivery": ["卡车", "托盘", "仓库", "叉车"],
    "product_inquiry": ["齿轮箱", "支架", "链轮", "小部件"],
    "other": ["节日", "问候", "聚餐", "生日"],
}
# A text of characters no training text has: the model has nothing to go on.
UNKNOWN = "¤¤¤ ¤¤"
BASE = timezone.now() - dt.timedelta(days=30)


def seed_categories(tenant) -> dict[str, Category]:
    with tenant_context(tenant):
        services.categories_seed_default(tenant)
        return {category.key: category for category in Category.objects.all()}


def labelled(tenant, vocabulary: dict[str, list[str]], per_category: int, *, extra: dict | None = None) -> list[Need]:
    """``per_category`` needs per category, their category set by a person; ``extra``: a word
    added to the first n subjects of a category, {key: (word, n)}."""
    categories = seed_categories(tenant)
    rng = random.Random(tenant.pk)
    needs = []
    for key, words in vocabulary.items():
        for number in range(per_category):
            subject = " ".join(rng.sample(words, 2))
            word, count = (extra or {}).get(key, ("", 0))
            if number < count:
                subject = f"{subject} {word}"
            needs.append(
                Need(
                    tenant=tenant,
                    subject=subject,
                    body=f"ref {number}",
                    received_at=BASE + dt.timedelta(minutes=len(needs)),
                    category=categories[key],
                    category_source=CategorySource.PERSON,
                    classification={"person": {"from": None, "to": key}},
                    status=NeedStatus.RESOLVED,
                )
            )
    with tenant_context(tenant):
        return Need.objects.bulk_create(needs)


def train(tenant) -> ClassifierModel | None:
    return learning.classifier_train(tenant)


def test_training_below_fifty_needs_labelled_by_people_does_nothing(tenant, make_need):
    # given: 48 labelled needs in three categories, and automatic ones that do not count
    labelled(tenant, ENGLISH, 16)
    for _ in range(5):
        make_need("Where is the shipment?")  # classified by a rule, not by a person
    # when
    model = train(tenant)
    # then
    assert model is None
    with tenant_context(tenant):
        assert ClassifierModel.objects.count() == 0
        assert learning.model_in_use(tenant) is None


def test_a_model_is_stored_with_its_accuracies_computed_against_the_rules(tenant):
    # given: 60 needs; 6 of the delivery ones carry the rule keyword "shipment"
    labelled(tenant, ENGLISH, 20, extra={"delivery": ("shipment", 6)})
    # when
    model = train(tenant)
    # then: the rules get those 6 right and miss the other 54: 6 / 60 = 0.1
    assert model is not None
    assert model.samples == 60
    assert model.rules_accuracy == Decimal("0.1000")
    # the cross-validated accuracy, recomputed here: 5 stratified folds (20 per category)
    with tenant_context(tenant):
        rows = list(Need.objects.order_by("-received_at", "-id").values_list("subject", "body", "category__key"))
    texts = [learning.model_text(subject, body) for subject, body, _key in rows]
    labels = np.array([key for _subject, _body, key in rows])
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=learning.SEED)
    probabilities = cross_val_predict(learning.new_pipeline(), texts, labels, cv=folds, method="predict_proba")
    expected = round(float((np.array(sorted(set(labels)))[probabilities.argmax(axis=1)] == labels).mean()), 4)
    assert model.cv_accuracy == Decimal(str(expected))
    assert model.cv_accuracy > Decimal("0.8")  # the words part the categories cleanly
    assert model.is_used is True  # it beats the rules
    assert model.labels == ["delivery", "other", "product_inquiry"]
    report = model.report
    assert report["folds"] == 5 and report["left_out"] == {}
    assert report["categories"]["delivery"]["support"] == 20
    assert report["categories"]["delivery"]["rules_accuracy"] == 0.3  # 6 of 20
    assert report["categories"]["other"]["rules_accuracy"] == 0.0
    # its strongest n-grams (up to three characters) come from the category's own words
    strongest = report["categories"]["delivery"]["terms"][:3]
    assert all(any(term in word for word in ENGLISH["delivery"]) for term in strongest)
    assert isinstance(bytes(model.payload), bytes) and len(bytes(model.payload)) > 100


def test_a_model_that_does_not_beat_the_rules_is_not_used(tenant):
    # given: every need says its category in the rules' own words ("other" gets a rule here)
    labelled(
        tenant,
        {"delivery": ["truck", "pallet", "courier"], "other": ["holiday", "greetings", "picnic"]},
        25,
        extra={"delivery": ("shipment", 25), "other": ("farewell", 25)},
    )
    with tenant_context(tenant):
        KeywordRule.objects.create(tenant=tenant, category=Category.objects.get(key="other"), keyword="farewell")
    # when
    model = train(tenant)
    # then: the rules are right 50 of 50 times; the model cannot do better
    assert model is not None
    assert model.rules_accuracy == Decimal("1.0000")
    assert model.is_used is False
    with tenant_context(tenant):
        assert learning.model_in_use(tenant) is None
        assert learning.predict(tenant, "forklift", "") is None


def test_tiny_categories_are_left_out_of_the_training(tenant):
    categories = seed_categories(tenant)
    labelled(tenant, ENGLISH, 20)
    with tenant_context(tenant):
        Need.objects.create(
            tenant=tenant,
            subject="pricing of gizmo",
            received_at=BASE,
            category=categories["commercial"],
            category_source=CategorySource.PERSON,
        )
    model = train(tenant)
    assert model.report["left_out"] == {"commercial": 1}
    assert model.samples == 60
    assert "commercial" not in model.labels


def test_below_confidence_the_need_waits_for_a_person_and_says_why(tenant, make_need):
    labelled(tenant, ENGLISH, 20)
    model = train(tenant)
    with tenant_context(tenant):
        answer = learning.predict(tenant, UNKNOWN, "")
    # then: no category, the model's probability below 0.6 and its best guess
    assert answer.category_key is None
    unsure = answer.reason["model_unsure"]
    assert unsure["probability"] < CONFIDENCE_THRESHOLD
    assert unsure["best_guess"] in model.labels and unsure["model_id"] == model.pk
    need = make_need(UNKNOWN)
    assert need.category is None and need.status == NeedStatus.NEW
    assert need.classification["model_unsure"]["probability"] == unsure["probability"]


def test_the_model_explains_its_category_with_the_terms_of_the_text(tenant, make_need):
    labelled(tenant, ENGLISH, 20)
    model = train(tenant)
    with tenant_context(tenant):
        answer = classify(tenant, "forklift and pallet", "")
    assert (answer.category_key, answer.source) == ("delivery", CategorySource.MODEL)
    assert answer.confidence >= CONFIDENCE_THRESHOLD
    explained = answer.reason["model"]
    assert explained["model_id"] == model.pk and explained["probability"] == answer.confidence
    assert explained["terms"] and all(term in "forklift and pallet" for term in explained["terms"])
    # a need captured now gets it, with the reason
    need = make_need("pallet courier")
    assert (need.category.key, need.category_source) == ("delivery", "model")
    assert need.classification["model"]["terms"]
    # the rules still come first
    ruled = make_need("forklift shipment")
    assert (ruled.category.key, ruled.category_source) == ("delivery", "rule")


def test_another_tenants_needs_are_never_in_the_training_set(tenant, other_tenant):
    # given: two tenants with their own words, English and Chinese
    labelled(tenant, ENGLISH, 20)
    labelled(other_tenant, CHINESE, 20)
    # when
    mine, theirs = train(tenant), train(other_tenant)
    # then: each model's n-grams come from its own tenant's needs only
    with tenant_context(tenant):
        subjects = [subject for subject, _body, _key in learning.training_set(tenant)]
        model = learning.model_in_use(tenant)
    assert len(subjects) == 60 and all(subject.isascii() for subject in subjects)
    assert model.model_id == mine.pk
    assert all(term.isascii() for term in model.vectorizer.vocabulary_)
    with tenant_context(other_tenant):
        other_model = learning.model_in_use(other_tenant)
        assert list(ClassifierModel.objects.values_list("id", flat=True)) == [theirs.pk]
    assert other_model.model_id == theirs.pk
    vocabulary = "".join(other_model.vectorizer.vocabulary_)
    assert not any(letter in vocabulary for letter in "wkyg")  # widget, truck, holiday, gizmo
    with tenant_context(other_tenant):
        assert learning.predict(other_tenant, "托盘 叉车", "").category_key == "delivery"


def test_only_the_last_models_are_kept(tenant, other_tenant):
    labelled(tenant, ENGLISH, 20)
    labelled(other_tenant, ENGLISH, 20)
    theirs = train(other_tenant)
    made = [train(tenant) for _ in range(learning.KEEP_MODELS + 2)]
    with tenant_context(tenant):
        kept = list(ClassifierModel.objects.values_list("id", flat=True))
        assert learning.model_in_use(tenant).model_id == made[-1].pk
    assert kept == [model.pk for model in reversed(made[-learning.KEEP_MODELS :])]
    with tenant_context(other_tenant):
        assert list(ClassifierModel.objects.values_list("id", flat=True)) == [theirs.pk]


def test_the_nightly_training_runs_for_every_tenant(tenant, other_tenant):
    app.loader.import_default_modules()
    # every night, twenty minutes before the tenant's score run (02:00 by default: 01:40)
    jobs = [(job.anchor, job.offset_minutes) for job in nightly.NIGHTLY_JOBS if job.task == "service.train_models"]
    assert jobs == [("score_at", -20)]
    labelled(tenant, ENGLISH, 20)
    labelled(other_tenant, CHINESE, 20)
    # when: beat's fan-out (eager here)
    assert fan_out("service.train_models") >= 2
    # then
    for each in (tenant, other_tenant):
        with tenant_context(each):
            assert ClassifierModel.objects.filter(is_used=True).count() == 1
    assert app.tasks["service.train_models"].acks_late is True
    assert app.tasks["service.train_models"].soft_time_limit == 20 * 60


def test_classify_pending_fills_the_categories_of_the_new_needs(tenant, other_tenant, account, manager):
    labelled(tenant, ENGLISH, 20)
    train(tenant)
    categories = seed_categories(other_tenant)
    # given: needs that arrived before the model, still without a category
    pending = {
        "model": ("courier truck", account),
        "rule": ("Copy of the invoice please", None),
        "unsure": (UNKNOWN, None),
    }
    with tenant_context(tenant):
        made = {
            name: Need.objects.create(tenant=tenant, subject=subject, account=acc, received_at=BASE)
            for name, (subject, acc) in pending.items()
        }
        done = Need.objects.create(tenant=tenant, subject="courier", received_at=BASE, status=NeedStatus.CLOSED)
    with tenant_context(other_tenant):
        theirs = Need.objects.create(tenant=other_tenant, subject="Copy of the invoice please", received_at=BASE)
    assert categories
    # when
    result = tasks.classify_pending.apply(args=[tenant.pk]).get()
    # then
    assert result == {"seen": 3, "classified": 2}
    with tenant_context(tenant):
        read = Need.objects.select_related("category", "assignee")
        by_model = read.get(pk=made["model"].pk)
        by_rule = read.get(pk=made["rule"].pk)
        unsure = read.get(pk=made["unsure"].pk)
        assert Need.objects.get(pk=done.pk).category is None  # closed: left alone
    assert (by_model.category.key, by_model.category_source, by_model.function) == ("delivery", "model", "delivery")
    assert by_model.classification["model"]["terms"]
    assert by_model.confidence >= Decimal("0.6")
    assert (by_model.assignee, by_model.status) == (manager, NeedStatus.TRIAGED)  # no team: the owner
    assert (by_rule.category.key, by_rule.category_source, by_rule.status) == ("billing", "rule", NeedStatus.NEW)
    assert unsure.category is None and "model_unsure" in unsure.classification
    with tenant_context(other_tenant):
        assert Need.objects.get(pk=theirs.pk).category is None


def test_classify_many_asks_the_database_the_same_for_three_or_thirty_needs(tenant):
    labelled(tenant, ENGLISH, 20)
    train(tenant)
    few = [("forklift", ""), ("the invoice", ""), (UNKNOWN, "")]
    many = few * 10
    with tenant_context(tenant):
        learning.model_in_use(tenant)  # unpickled once for the process
        with CaptureQueriesContext(connection) as for_few:
            answers = classify_many(tenant, few)
        with CaptureQueriesContext(connection) as for_many:
            classify_many(tenant, many)
        singles = [classify(tenant, subject, body) for subject, body in few]
    assert len(for_few.captured_queries) == len(for_many.captured_queries)
    assert answers == singles
    assert [answer.category_key for answer in answers] == ["delivery", "billing", None]


def test_the_evaluation_set_has_every_category_in_both_languages():
    examples = evaluation.load_examples()
    assert len(examples) >= 300
    keys = {key for key, *_rest in defaults.CATEGORIES}
    assert {example.category for example in examples} == keys
    languages = {example.language for example in examples}
    assert languages == {"zh", "en", "mixed"}
    for key in keys:
        mine = [example.language for example in examples if example.category == key]
        assert {"zh", "en"} <= set(mine) and len(mine) >= 30
    chinese = sum(example.language == "zh" for example in examples)
    assert 0.4 <= chinese / len(examples) <= 0.6
    assert len({(example.subject, example.body) for example in examples}) == len(examples)


def test_evaluate_classifier_prints_the_held_out_figures(capsys):
    call_command("evaluate_classifier")
    out = capsys.readouterr().out
    assert "| category | needs | rules alone | model alone | rules + model | coverage |" in out
    overall = next(line for line in out.splitlines() if line.startswith("| **overall**"))
    examples = evaluation.load_examples()
    _train, test = evaluation.split(examples)
    assert overall.split("|")[2].strip() == str(len(test))
