"""Behavioural tests of a model, in the style of CheckList (Ribeiro et al., 2020).

Held-out scores say how often the model is right; these say whether it reads the right thing.
The label contract asks for the *target* of an intervention, not its actor, so:

- **invariance**: the same target, with the actor swapped among a kabupaten BNN, a city
  government, a ministry, a local NGO, a UN agency, …, must keep its level;
- **directional**: widening the target (one person → one family → one village → a whole
  kabupaten → a province → several countries) must never move the prediction down the scale.

The sentences are built from templates on purpose: templates are right for measuring, because
each case differs from its neighbours by exactly one thing. They never enter the training data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

LEVEL_ORDER = {"mikro": 0, "mezzo": 1, "makro": 2, "global": 3}

ACTORS: tuple[str, ...] = (
    "BNN Kabupaten Sleman",
    "Pemerintah Kota Medan",
    "Kementerian Sosial",
    "Dinas Sosial Provinsi Jawa Timur",
    "sebuah LSM lokal di Makassar",
    "UNICEF",
    "KPAI",
    "Yayasan Pelita Harapan",
)

# (what the actor does, the level of its target)
TARGETS: tuple[tuple[str, str], ...] = (
    (
        "memberikan pendampingan psikologis kepada seorang siswi kelas 8 yang menjadi korban "
        "perundungan di sekolahnya",
        "mikro",
    ),
    (
        "mengantar seorang kakek yang hidup sebatang kara ke panti werdha dan menghubungi "
        "anaknya yang merantau",
        "mikro",
    ),
    (
        "merujuk seorang ibu korban kekerasan dalam rumah tangga beserta dua anaknya ke rumah "
        "aman",
        "mikro",
    ),
    (
        "menggelar penyuluhan bahaya narkoba bagi siswa-siswi SMP Negeri 4 Depok di aula "
        "sekolah",
        "mezzo",
    ),
    (
        "melatih kader posyandu Desa Sukamaju mendeteksi balita yang berisiko tengkes",
        "mezzo",
    ),
    (
        "mendampingi pengurus sebuah panti asuhan menyusun prosedur pengasuhan dan pencatatan "
        "anak asuh",
        "mezzo",
    ),
    (
        "mendorong DPRD provinsi mengesahkan peraturan daerah tentang perlindungan anak yang "
        "berlaku di semua kabupaten dan kota",
        "makro",
    ),
    (
        "menyusun rencana aksi penanganan anak jalanan untuk seluruh wilayah kota",
        "makro",
    ),
    ("mengevakuasi seorang ODGJ yang dipasung keluarganya", "mikro"),
    ("memulangkan seorang pekerja migran yang sakit dari Malaysia", "mikro"),
    (
        "merehabilitasi rumah tidak layak huni milik satu keluarga di Kecamatan Ngaliyan",
        "mikro",
    ),
    ("menggelar sosialisasi bahaya narkoba di SMP Negeri 2 Mlati", "mezzo"),
    ("membentuk satgas perlindungan anak di Kelurahan Tegalrejo", "mezzo"),
    ("mengakreditasi sebuah LKSA di Kabupaten Bantul", "mezzo"),
    ("meluncurkan kampanye nasional pencegahan perkawinan anak", "makro"),
    ("mendesak pemerintah pusat merevisi aturan pengasuhan alternatif bagi anak", "makro"),
    (
        "mengajak negara-negara anggota ASEAN memperkuat kerja sama melawan perdagangan orang",
        "global",
    ),
    (
        "mengajak pemerintah negara-negara Asia Tenggara menyepakati standar bersama "
        "perlindungan pekerja migran lintas batas",
        "global",
    ),
)

# Frames with one slot, and targets from narrow to wide with the level each should get.
FRAMES: tuple[str, ...] = (
    "Dinas Sosial menyalurkan bantuan pangan dan mendampingi {} yang terdampak banjir.",
    "Petugas melakukan asesmen kebutuhan dan menyusun rencana pemulihan bagi {} setelah "
    "gempa.",
    "Program pencegahan perkawinan anak ini menyasar {}.",
    "Pekerja sosial memfasilitasi pertemuan untuk membahas masalah kemiskinan yang dialami {}.",
    "Sosialisasi pencegahan narkoba digelar untuk {}.",
    "Bantuan sosial tahap kedua disalurkan kepada {}.",
)
WIDENING: tuple[tuple[str, str], ...] = (
    ("seorang nenek", "mikro"),
    ("satu keluarga nelayan", "mikro"),
    ("warga Desa Karanganyar", "mezzo"),
    ("warga di seluruh Kabupaten Demak", "makro"),
    ("masyarakat di seluruh Provinsi Jawa Tengah", "makro"),
    ("masyarakat di lima negara Asia Tenggara", "global"),
)


class Predictor(Protocol):
    def predict(self, texts: list[str]) -> list[str]: ...


@dataclass(frozen=True)
class Outcome:
    kind: str
    cases: int
    failures: int
    expected_right: float  # share of sentences given the level the template says
    examples: list[dict[str, Any]]

    @property
    def failure_rate(self) -> float:
        return self.failures / self.cases if self.cases else 0.0


def invariance(model: Predictor) -> Outcome:
    """One case per target: it fails when any two actors get different levels."""
    texts = [f"{actor} {action}." for action, _ in TARGETS for actor in ACTORS]
    pred = model.predict(texts)
    failures, right, examples = 0, 0, []
    for t, (_, level) in enumerate(TARGETS):
        got = pred[t * len(ACTORS) : (t + 1) * len(ACTORS)]
        right += sum(g == level for g in got)
        if len(set(got)) > 1:
            failures += 1
            examples.append(
                {"target": level, "by_actor": dict(zip(ACTORS, got, strict=True))}
            )
    return Outcome("invariance (actor swapped)", len(TARGETS), failures, right / len(texts), examples)


def directional(model: Predictor) -> Outcome:
    """One case per frame and step: it fails when a wider target gets a lower level."""
    texts = [frame.format(target) for frame in FRAMES for target, _ in WIDENING]
    pred = model.predict(texts)
    failures, right, examples, cases = 0, 0, [], 0
    for f in range(len(FRAMES)):
        got = pred[f * len(WIDENING) : (f + 1) * len(WIDENING)]
        right += sum(g == level for g, (_, level) in zip(got, WIDENING, strict=True))
        for step in range(1, len(got)):
            cases += 1
            if LEVEL_ORDER[got[step]] < LEVEL_ORDER[got[step - 1]]:
                failures += 1
                examples.append(
                    {
                        "frame": f,
                        "from": WIDENING[step - 1][0],
                        "to": WIDENING[step][0],
                        "levels": [got[step - 1], got[step]],
                    }
                )
    return Outcome("directional (target widened)", cases, failures, right / len(texts), examples)


def run_checklist(model: Predictor) -> list[dict[str, Any]]:
    """Both kinds, as JSON-ready rows for the report."""
    return [
        {
            "kind": o.kind,
            "cases": o.cases,
            "failures": o.failures,
            "failure_rate": o.failure_rate,
            "expected_right": o.expected_right,
            "examples": o.examples[:5],
        }
        for o in (invariance(model), directional(model))
    ]
