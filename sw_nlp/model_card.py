"""The model card written into every bundle: what the model is for, what it was trained on,
how well it does, and where it stops working. Text only, from the manifest.
"""

from __future__ import annotations

from typing import Any


def model_card(manifest: dict[str, Any]) -> str:
    """The model card: what the model is for, what it was trained on, how well it does."""
    m = manifest["metrics"]
    test, cv = m.get("test", {}), m.get("cv", {})
    corpus = manifest["corpus"]
    per_class = "\n".join(
        f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
        for label, v in test.get("per_class", {}).items()
    )
    cfg = manifest["config"]
    return f"""# Model card: sw-nlp intervention-level classifier

Created {manifest["created"]} with sw-nlp {manifest["versions"]["sw_nlp"]},
scikit-learn {manifest["versions"]["scikit_learn"]}, Python {manifest["versions"]["python"]}.

## What it does
Reads an Indonesian social-work case description and estimates which intervention level
it calls for: {", ".join(manifest["labels"])} (the label contract,
`docs/annotation-guideline.md`). It returns probabilities and the words that drove them.

## Intended use
Triage support for case workers and analysts at Dinas Sosial, Kemensos, LKS and NGOs: sorting
and prioritising case files, flagging the ones a person should read first. **The model
supports a case worker's decision and never makes it.** Low-confidence predictions are flagged
for review; every prediction can be overruled.

## Not for
Decisions about a person's eligibility for assistance, legal status or services; any use
without a person reviewing the output; texts that are not case descriptions in Indonesian.

## Model
Normalisation (NFKC, lower case, masking of NIK/KK, phone, e-mail, URL and bank account
numbers, slang lexicon) →
TF-IDF on word n-grams {cfg["features"]["word_ngrams"]} and character n-grams
{cfg["features"]["char_ngrams"]} (sublinear tf) → multinomial logistic regression
(C = {cfg["model"]["C"]}, class weights {cfg["model"]["class_weight"]}); stemming
{"on" if cfg["preprocess"]["stem"] else "off"}, stopword removal
{"on" if cfg["preprocess"]["remove_stopwords"] else "off"}, chosen by {cv.get("folds", "?")}-fold
cross-validation on the train split.

## Data
{corpus.get("rows", "?")} labelled cases ({corpus.get("train", "?")} train,
{corpus.get("test", "?")} test), written by hand for this project in many registers (assessment
reports, chats, complaints, minutes, proposals, news, official posts, memos, forms,
interviews). No real case; no real personal data. Corpus sha256 `{corpus.get("sha256", "?")}`.

## Evaluation
Cross-validated macro-F1 on the train split: {cv.get("macro_f1_mean", float("nan")):.3f}
± {cv.get("macro_f1_sd", float("nan")):.3f}.
Held-out test split (n = {test.get("n", "?")}): accuracy {test.get("accuracy", float("nan")):.3f},
macro-F1 {test.get("macro_f1", float("nan")):.3f}.

| label | precision | recall | F1 | support |
| --- | --- | --- | --- | --- |
{per_class}

{_real_text_section(m)}{_calibration_section(m)}## Limits
The corpus is written for the project, so scores on it overstate what to expect on other
people's case files; real news and government texts are harder. The boundary between
mezzo and makro depends on geography words (kecamatan vs kabupaten), and texts that mention
several levels are labelled by their main intervention, which a bag of words can misread.
Retrain when the scikit-learn minor version changes.
"""


def _real_text_section(metrics: dict[str, Any]) -> str:
    """Figures on texts written by other people, when training scored any (``--real``)."""
    external = metrics.get("external") or {}
    if not external:
        return ""
    rows = "\n".join(
        f"| {name} | {e['n']} | {e['macro_f1']:.3f} | {e['accuracy']:.3f} | {e['ece']:.3f} | "
        f"{e['to_review']:.0%} | {_pct(e['accuracy_of_rest'])} |"
        for name, e in external.items()
    )
    return f"""## On real text
Texts written by other people (passages of public Indonesian news, agency, NGO, academic and
regulation pages; `data/real/README.md`), never trained on. These, not the corpus test split,
say what to expect on real files.

| set | n | macro-F1 | accuracy | calibration error | flagged for review | right when not flagged |
| --- | --- | --- | --- | --- | --- | --- |
{rows}

"""


def _calibration_section(metrics: dict[str, Any]) -> str:
    cal = metrics.get("calibration")
    if not cal:
        return ""
    return f"""## Confidence
Temperature scaling, T = {cal["temperature"]:.3f}, fitted on {cal["fitted_on"]} (mean
negative log-likelihood {cal["nll_before"]:.3f} before, {cal["nll_after"]:.3f} after). It changes
how sure the model says it is, never which level it picks.

"""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"
