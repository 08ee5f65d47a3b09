"""The per-tenant text model (DESIGN section 11): TF-IDF over character 1-3-grams (no Chinese
word segmenter needed) and a linear classifier on the logistic loss, trained on the tenant's own needs whose
category a person set or confirmed, and used after the keyword rules only while its
cross-validated accuracy beats theirs on the same needs.

Training data: the needs with ``category_source == "person"``. Setting or confirming a
category on the page goes through ``services.need_set_category``, which marks the need
``person`` either way (``classification["person"]`` holds from -> to, equal for a
confirmation). An automatic category that nobody looked at is not training data, even on a
resolved need: the model would learn its own and the rules' mistakes.

Tiny categories: a category with fewer than two labelled needs can be neither learnt nor
tested in a fold, so its needs are left out of that training (the report lists them under
``left_out``) and the model never proposes it until people have labelled a second need. The
folds: stratified, k = min(5, the smallest remaining category's count), at least 2.

The model never sees another tenant's text: training reads through the tenant-scoped
manager inside the tenant's context (``tenant_service``), and a fitted model is stored on the
tenant's own ``ClassifierModel`` row and looked up by (tenant, model) in the process cache.
"""

from __future__ import annotations

import io
import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import joblib
import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from accounts.models import Account
from kam import runs
from kam.models import Tenant
from kam.tenancy import tenant_selector, tenant_service
from service import signals
from service.classify import CONFIDENCE_THRESHOLD, Classification, classify_many, rule_set
from service.models import Category, CategorySource, ClassifierModel, Need, NeedStatus

# DESIGN section 11: no model before 50 needs labelled by people, in at least 2 categories.
MIN_SAMPLES = 50
MIN_CATEGORIES = 2
# A category needs this many labelled needs to be learnt and tested (one per side of a fold).
MIN_CATEGORY_SAMPLES = 2
MAX_FOLDS = 5
# The newest labelled needs trained on: enough for any tenant's vocabulary, and a nightly
# training that stays within minutes on two cores.
MAX_SAMPLES = 20_000
# Characters of subject and text the model reads: the first lines say what a need is about;
# a long quoted thread below them adds time, not signal.
TEXT_LIMIT = 2_000
# Models kept per tenant (the latest is the one that counts; the others show the history).
KEEP_MODELS = 3
REPORT_TERMS = 12
EXPLAIN_TERMS = 5
SEED = 16
TRAIN_LOCK = "service:train"
CLASSIFY_LOCK = "service:classify"
PENDING_BATCH = 500


def model_text(subject: str, body: str) -> str:
    return f"{subject}\n{body}"[:TEXT_LIMIT]


def new_pipeline() -> Pipeline:
    """The untrained model: char n-grams within words (Chinese text is one long "word", so it
    gets every 1-3-gram of characters), and a linear classifier on the logistic loss whose
    probabilities decide between using the category and waiting for a person."""
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, lowercase=True, dtype=np.float32
                ),
            ),
            # Stochastic gradient descent on the logistic loss: the probabilities of a logistic
            # regression, twenty times faster to fit than lbfgs on these many n-grams. The weak
            # regularisation (alpha) measured best on the evaluation set: the needs it is sure of
            # (p >= 0.6) were right 64-79 % of the time over four seeds (service/evaluation.py).
            (
                "classifier",
                SGDClassifier(loss="log_loss", alpha=2e-5, max_iter=50, tol=None, random_state=SEED),
            ),
        ]
    )


def _readable(term: str) -> str:
    """An n-gram as a person reads it, or "" when it says nothing (a lone Latin letter)."""
    term = term.strip()
    if len(term) < 2 and term.isascii():
        return ""
    return term


class TextModel:
    """A fitted pipeline with what explaining its answers needs (the n-grams and the weight of
    each for each category)."""

    def __init__(self, pipeline: Pipeline, model_id: int | None = None) -> None:
        self.pipeline = pipeline
        self.model_id = model_id
        self.vectorizer: TfidfVectorizer = pipeline.named_steps["tfidf"]
        classifier: SGDClassifier = pipeline.named_steps["classifier"]
        self.labels: list[str] = [str(label) for label in classifier.classes_]
        self.terms = self.vectorizer.get_feature_names_out()
        weights = classifier.coef_
        if weights.shape[0] == 1:  # two categories: one row of weights, for the second
            weights = np.vstack([-weights[0], weights[0]])
        self.weights = weights

    def top_terms(self, label_index: int, count: int = REPORT_TERMS) -> list[str]:
        order = np.argsort(-self.weights[label_index])
        found: list[str] = []
        for index in order:
            if self.weights[label_index, index] <= 0 or len(found) >= count:
                break
            term = _readable(self.terms[index])
            if term and term not in found:
                found.append(term)
        return found

    def explain(self, matrix: Any, row: int, label_index: int, count: int = EXPLAIN_TERMS) -> list[str]:
        """The n-grams of this text that added most to the chosen category's score."""
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        indices = matrix.indices[start:end]
        contributions = matrix.data[start:end] * self.weights[label_index, indices]
        found: list[str] = []
        for position in np.argsort(-contributions):
            if contributions[position] <= 0 or len(found) >= count:
                break
            term = _readable(self.terms[indices[position]])
            if term and term not in found:
                found.append(term)
        return found

    def classify(self, texts: Sequence[str], allowed: set[str] | None = None) -> list[Classification]:
        """One answer per text, in one vectorised pass: the category when its probability is
        at least CONFIDENCE_THRESHOLD, else no category and the reason (the model was unsure).
        ``allowed``: the category keys that may be proposed (the tenant's active ones)."""
        if not texts:
            return []
        matrix = self.vectorizer.transform(texts)
        probabilities = self.pipeline.named_steps["classifier"].predict_proba(matrix)
        if allowed is not None:
            usable = np.array([label in allowed for label in self.labels])
            probabilities = probabilities * usable
        best = probabilities.argmax(axis=1)
        answers: list[Classification] = []
        for row, label_index in enumerate(best):
            probability = round(float(probabilities[row, label_index]), 4)
            key = self.labels[label_index]
            if probability >= CONFIDENCE_THRESHOLD:
                terms = self.explain(matrix, row, label_index)
                reason = {"model": {"probability": probability, "terms": terms, "model_id": self.model_id}}
                answers.append(Classification(key, CategorySource.MODEL, probability, reason))
            else:
                reason = {"model_unsure": {"probability": probability, "best_guess": key, "model_id": self.model_id}}
                answers.append(Classification(None, "", probability, reason))
        return answers


def dump(pipeline: Pipeline) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return buffer.getvalue()


def load(payload: bytes) -> Pipeline:
    # The payload is only ever written by classifier_train from the tenant's own needs.
    return joblib.load(io.BytesIO(bytes(payload)))


# --- training and its evaluation ---------------------------------------------------------------


def fit_and_evaluate(
    texts: Sequence[str], labels: Sequence[str], rule_keys: Sequence[str | None]
) -> tuple[TextModel, dict[str, Any]] | None:
    """Cross-validate the model on the labelled texts against the rules' answers for the same
    texts (``rule_keys``: the rules' category or None, a miss that counts wrong), then fit it
    on them all. None when there is too little to learn from (fewer than MIN_SAMPLES needs or
    MIN_CATEGORIES categories once the tiny categories are left out)."""
    counts = Counter(labels)
    left_out = {key: n for key, n in counts.items() if n < MIN_CATEGORY_SAMPLES}
    kept = [i for i, label in enumerate(labels) if label not in left_out]
    kept_counts = {key: n for key, n in counts.items() if key not in left_out}
    if len(kept) < MIN_SAMPLES or len(kept_counts) < MIN_CATEGORIES:
        return None
    x = [texts[i] for i in kept]
    y = np.array([labels[i] for i in kept])
    rules = np.array([rule_keys[i] or "" for i in kept])
    folds = max(2, min(MAX_FOLDS, min(kept_counts.values())))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    probabilities = cross_val_predict(new_pipeline(), x, y, cv=splitter, method="predict_proba")
    classes = np.array(sorted(kept_counts))  # the order of predict_proba's columns
    predicted = classes[probabilities.argmax(axis=1)]
    confident = probabilities.max(axis=1) >= CONFIDENCE_THRESHOLD
    model_right = predicted == y
    rules_right = rules == y
    # what production does: the rules first, then the model when it is sure enough
    combined_right = np.where(rules != "", rules_right, confident & model_right)

    model = TextModel(_fit(x, list(y)))
    categories: dict[str, Any] = {}
    for key in classes:
        mine = y == key
        label_index = model.labels.index(key)
        categories[str(key)] = {
            "support": int(mine.sum()),
            "model_accuracy": round(float(model_right[mine].mean()), 4),
            "rules_accuracy": round(float(rules_right[mine].mean()), 4),
            "model_precision": round(float(model_right[predicted == key].mean()), 4)
            if (predicted == key).any()
            else None,
            "terms": model.top_terms(label_index),
        }
    report = {
        "folds": folds,
        "left_out": left_out,
        "cv_accuracy": round(float(model_right.mean()), 4),
        "rules_accuracy": round(float(rules_right.mean()), 4),
        "coverage": round(float(confident.mean()), 4),
        "confident_accuracy": round(float(model_right[confident].mean()), 4) if confident.any() else None,
        "rules_then_model_accuracy": round(float(combined_right.mean()), 4),
        "categories": categories,
    }
    return model, report


def _fit(texts: Sequence[str], labels: Sequence[str]) -> Pipeline:
    pipeline = new_pipeline()
    pipeline.fit(list(texts), list(labels))
    return pipeline


@tenant_selector
def training_set(tenant: Tenant) -> list[tuple[str, str, str]]:
    """(subject, body, category key) of the tenant's newest needs labelled by a person, in an
    active category."""
    rows = (
        Need.objects.filter(category_source=CategorySource.PERSON, category__isnull=False, category__is_active=True)
        .order_by("-received_at", "-id")
        .values_list("subject", "body", "category__key")[:MAX_SAMPLES]
    )
    return list(rows)


@tenant_service
def classifier_train(tenant: Tenant) -> ClassifierModel | None:
    """Train the tenant's model on its labelled needs, compare it with its rules, store it
    (in use when its cross-validated accuracy beats the rules'), and keep only the last
    KEEP_MODELS. Nothing happens below MIN_SAMPLES labelled needs, or while another training of
    the tenant runs."""
    if not runs.advisory_xact_lock(tenant, TRAIN_LOCK, wait=False):
        return None
    rows = training_set(tenant)
    if len(rows) < MIN_SAMPLES:
        return None
    rules = rule_set(tenant)
    texts = [model_text(subject, body) for subject, body, _key in rows]
    labels = [key for _subject, _body, key in rows]
    rule_keys = [rules.classify(subject, body).category_key for subject, body, _key in rows]
    fitted = fit_and_evaluate(texts, labels, rule_keys)
    if fitted is None:
        return None
    model, report = fitted
    cv_accuracy = Decimal(str(report["cv_accuracy"]))
    rules_accuracy = Decimal(str(report["rules_accuracy"]))
    stored = ClassifierModel.objects.create(
        tenant=tenant,
        trained_at=timezone.now(),
        samples=sum(category["support"] for category in report["categories"].values()),
        cv_accuracy=cv_accuracy,
        rules_accuracy=rules_accuracy,
        is_used=cv_accuracy > rules_accuracy,
        labels=model.labels,
        report=report,
        payload=dump(model.pipeline),
    )
    keep = list(ClassifierModel.objects.order_by("-trained_at", "-id").values_list("id", flat=True)[:KEEP_MODELS])
    ClassifierModel.objects.exclude(pk__in=keep).delete()
    return stored


# --- using the model ---------------------------------------------------------------------------

_CACHE: OrderedDict[tuple[int, int], TextModel] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


@tenant_selector
def model_in_use(tenant: Tenant) -> TextModel | None:
    """The tenant's latest model when it is in use (its accuracy beat the rules'), unpickled
    once per process and model."""
    latest = ClassifierModel.objects.order_by("-trained_at", "-id").values_list("id", "is_used").first()
    if latest is None or not latest[1]:
        return None
    key = (tenant.pk, latest[0])
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
    payload = ClassifierModel.objects.filter(pk=latest[0]).values_list("payload", flat=True).first()
    if payload is None:
        return None
    model = TextModel(load(payload), model_id=latest[0])
    with _CACHE_LOCK:
        _CACHE[key] = model
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return model


def _active_keys(tenant: Tenant) -> set[str]:
    return set(Category.objects.filter(is_active=True).values_list("key", flat=True))


@tenant_selector
def predict_many(tenant: Tenant, items: Sequence[tuple[str, str]]) -> list[Classification | None]:
    """The model's answer for each (subject, body), in one pass: a category (p >= 0.6), or no
    category with the reason; None for all when the tenant has no model in use."""
    model = model_in_use(tenant) if items else None
    if model is None:
        return [None] * len(items)
    return list(model.classify([model_text(subject, body) for subject, body in items], _active_keys(tenant)))


def predict(tenant: Tenant, subject: str, body: str) -> Classification | None:
    """The tenant's model in use: its category when sure enough (>= 0.6), else a
    Classification without a category that says the model was unsure; None without a model."""
    return predict_many(tenant, [(subject, body)])[0]


# --- the needs still waiting for a category ----------------------------------------------------


@tenant_service
def _classify_pending_batch(tenant: Tenant, *, after: int, batch_size: int) -> tuple[int, int, int]:
    """Classify the next batch of new needs without a category (id > ``after``); returns
    (the last id seen, needs seen, needs that got a category)."""
    from service.services import route

    runs.advisory_xact_lock(tenant, CLASSIFY_LOCK)
    needs = list(
        Need.objects.select_for_update(skip_locked=True)
        .filter(status=NeedStatus.NEW, category__isnull=True, id__gt=after)
        .order_by("id")[:batch_size]
    )
    if not needs:
        return after, 0, 0
    accounts = Account.objects.in_bulk({need.account_id for need in needs if need.account_id})
    for need in needs:
        if need.account_id:
            need.account = accounts[need.account_id]
    found = classify_many(tenant, [(need.subject, need.body) for need in needs])
    categories = {category.key: category for category in Category.objects.filter(is_active=True)}
    routes: dict[tuple[int | None, int], Any] = {}
    now = timezone.now()
    changed: list[Need] = []
    routed: list[tuple[Need, list[Any]]] = []
    for need, answer in zip(needs, found, strict=True):
        category = categories.get(answer.category_key) if answer.category_key else None
        if category is None:
            if answer.reason and answer.reason != need.classification:
                need.classification = answer.reason  # why it still waits (the model was unsure)
                need.updated_at = now
                changed.append(need)
            continue
        # One routing per account and category in a batch: their needs go to the same person.
        pair = (need.account_id, category.pk)
        if pair not in routes:
            routes[pair] = route(tenant, need.account, category)
        route_found = routes[pair]
        need.category = category
        need.category_source = answer.source
        need.confidence = Decimal(str(answer.confidence)) if answer.confidence is not None else None
        need.classification = answer.reason
        need.function = route_found.function
        need.assignee = route_found.assignee
        if need.account_id and route_found.assignee:
            need.status = NeedStatus.TRIAGED
        need.updated_at = now
        changed.append(need)
        if need.assignee_id or route_found.notify:
            routed.append((need, route_found.notify))
    written = _write_classified(tenant, changed)
    for need, notify in routed:
        if need.pk in written:
            transaction.on_commit(
                lambda need=need, notify=notify: signals.need_routed.send(
                    sender=Need, tenant=tenant, need=need, notify=notify
                )
            )
    return needs[-1].pk, len(needs), sum(1 for need in changed if need.category_id and need.pk in written)


_WRITE_CLASSIFIED = """
UPDATE service_need AS need
SET category_id = batch.category_id, category_source = batch.category_source,
    confidence = batch.confidence, classification = batch.classification, function = batch.function,
    assignee_id = batch.assignee_id, status = batch.status, updated_at = batch.updated_at
FROM (VALUES {rows}) AS batch (id, category_id, category_source, confidence, classification, function,
                              assignee_id, status, updated_at)
WHERE need.tenant_id = %s AND need.id = batch.id AND need.category_id IS NULL AND need.status = %s
RETURNING need.id
"""
_WRITE_ROW = "(%s::bigint, %s::bigint, %s, %s::numeric, %s::jsonb, %s, %s::bigint, %s, %s::timestamptz)"


def _write_classified(tenant: Tenant, needs: Sequence[Need]) -> set[int]:
    """One UPDATE ... FROM (VALUES ...) for the batch, naming the tenant; only the needs still
    new and without a category are written (a person who set one meanwhile wins). The ids
    written. (Django's bulk_update builds a CASE per field and row: seconds per batch.)"""
    if not needs:
        return set()
    params: list[Any] = []
    for need in needs:
        params += [
            need.pk,
            need.category_id,
            need.category_source,
            need.confidence,
            json.dumps(need.classification, ensure_ascii=False),
            need.function,
            need.assignee_id,
            need.status,
            need.updated_at,
        ]
    sql = _WRITE_CLASSIFIED.format(rows=", ".join([_WRITE_ROW] * len(needs)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, tenant.pk, NeedStatus.NEW])
        return {row[0] for row in cursor.fetchall()}


def needs_classify_pending(tenant: Tenant, *, batch_size: int = PENDING_BATCH) -> dict[str, int]:
    """Classify again the tenant's new needs still without a category (after a new model, or
    new rules), batch by batch, each batch its own transaction: one rule set and one model
    load per batch, one vectorised prediction, one UPDATE ... FROM (VALUES ...) per batch."""
    after, seen, classified = 0, 0, 0
    while True:
        after, batch_seen, batch_classified = _classify_pending_batch(tenant, after=after, batch_size=batch_size)
        if not batch_seen:
            break
        seen += batch_seen
        classified += batch_classified
    return {"seen": seen, "classified": classified}
