"""How well needs are classified, measured on the evaluation set written for this project
(service/data/needs_eval.csv: customer needs in Chinese, English and both, each labelled with
one of the eight seeded category keys; some on purpose with keywords that mislead or none).

The set is split with a fixed seed into a training part (70 %) and a held-out part (30 %),
stratified by category. On the held-out part: the seeded keyword rules alone (a miss counts
wrong), and the rules then the text model trained on the training part (the model only when
no rule matched and it is sure enough, p >= 0.6; otherwise the need waits for a person,
which counts wrong), with the coverage (needs that got an automatic category).

    .venv/bin/python manage.py evaluate_classifier
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from service import defaults
from service.classify import RuleSet
from service.learning import TextModel, fit_and_evaluate, model_text, new_pipeline

EVALUATION_SET = Path(__file__).resolve().parent / "data" / "needs_eval.csv"
SEED = 16
TEST_SHARE = 0.3


@dataclass(frozen=True)
class Example:
    category: str
    language: str  # zh, en or mixed
    subject: str
    body: str

    @property
    def text(self) -> str:
        return model_text(self.subject, self.body)


def load_examples(path: Path = EVALUATION_SET) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Example(row["category"], row["language"], row["subject"], row["body"]) for row in csv.DictReader(handle)
        ]


def seeded_rules() -> RuleSet:
    """The keyword rules a new tenant starts with (service.defaults), as rule_set() builds them."""
    rules = [
        (keyword.casefold(), key, weight) for key, keywords in defaults.RULES.items() for keyword, weight in keywords
    ]
    order = {key: position for position, (key, *_rest) in enumerate(defaults.CATEGORIES)}
    return RuleSet(rules, order)


def split(examples: Sequence[Example], seed: int = SEED, test_share: float = TEST_SHARE) -> tuple[list, list]:
    """The training and held-out parts, stratified by category, the same for the same seed."""
    train, test = train_test_split(
        list(examples), test_size=test_share, random_state=seed, stratify=[e.category for e in examples]
    )
    return train, test


def evaluate(
    examples: Sequence[Example], rules: RuleSet | None = None, seed: int = SEED, test_share: float = TEST_SHARE
) -> dict[str, Any]:
    """Per category and overall, on the held-out part: needs, the rules' accuracy, the model's
    alone, the rules then the model, and the coverage of the latter. Also what the tenant's
    nightly training would decide on the training part (cross-validated accuracy against the
    rules' on the same needs: is the model used?)."""
    rules = rules or seeded_rules()
    train, test = split(examples, seed, test_share)
    pipeline = new_pipeline().fit([e.text for e in train], [e.category for e in train])
    model = TextModel(pipeline)
    rule_answers = [rules.classify(e.subject, e.body).category_key for e in test]
    model_answers = model.classify([e.text for e in test])
    model_alone = [str(model.labels[int(row.argmax())]) for row in pipeline.predict_proba([e.text for e in test])]

    rows: dict[str, dict[str, int]] = {}
    for example, by_rule, by_model, alone in zip(test, rule_answers, model_answers, model_alone, strict=True):
        combined = by_rule or by_model.category_key
        for key in (example.category, "overall"):
            row = rows.setdefault(key, {"needs": 0, "rules": 0, "model": 0, "combined": 0, "covered": 0})
            row["needs"] += 1
            row["rules"] += by_rule == example.category
            row["model"] += alone == example.category
            row["combined"] += combined == example.category
            row["covered"] += combined is not None
    fitted = fit_and_evaluate(
        [e.text for e in train],
        [e.category for e in train],
        [rules.classify(e.subject, e.body).category_key for e in train],
    )
    training = fitted[1] if fitted else {}
    order = [key for key, *_rest in defaults.CATEGORIES]
    return {
        "train": len(train),
        "test": len(test),
        "seed": seed,
        "rows": {key: rows[key] for key in [*order, "overall"] if key in rows},
        "training": {key: training.get(key) for key in ("folds", "cv_accuracy", "rules_accuracy")},
    }


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Held-out part: {result['test']} needs (training part {result['train']}, seed {result['seed']}).",
        "",
        "| category | needs | rules alone | model alone | rules + model | coverage |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, row in result["rows"].items():
        name = f"**{key}**" if key == "overall" else key
        lines.append(
            f"| {name} | {row['needs']} | {_share(row['rules'], row['needs'])} | {_share(row['model'], row['needs'])}"
            f" | {_share(row['combined'], row['needs'])} | {_share(row['covered'], row['needs'])} |"
        )
    training = result["training"]
    if training.get("cv_accuracy") is not None:
        used = training["cv_accuracy"] > training["rules_accuracy"]
        lines += [
            "",
            f"Nightly training on the training part: {training['folds']}-fold cross-validated accuracy "
            f"{_share(training['cv_accuracy'], 1)} against the rules' {_share(training['rules_accuracy'], 1)}"
            f" on the same needs: the model {'is' if used else 'is not'} used.",
        ]
    return "\n".join(lines)
