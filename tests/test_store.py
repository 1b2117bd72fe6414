"""The reference store: all-or-nothing writes, embedding cache, bad databases."""

import sqlite3
import stat
import threading

import numpy as np
import pytest

from enrollment.store import NewReference, ReferenceStore, StoreError


def _item(value: float, kind: str = "digit") -> NewReference:
    shape = (48, 48, 3) if kind == "object" else (28, 28)
    return NewReference(np.full((30, 40, 3), int(value * 255), np.uint8), np.full(shape, value, np.float32))


def test_add_list_remove(tmp_path):
    with ReferenceStore(tmp_path) as store:
        ids = store.add(" seven ", "digit", [_item(0.1), _item(0.2)])
        other = store.add("three", "object", [_item(0.3, "object")])
        references = store.references()
        assert [r.id for r in references] == [*ids, *other]
        assert references[0].label == "seven" and references[2].kind == "object"
        assert np.allclose(references[1].input, 0.2)
        assert all(r.image.is_file() for r in references)
        assert store.ids_with_label("seven") == ids
        removed = store.remove([ids[0], 999])
        assert removed == [ids[0]]
        assert not references[0].image.exists()
        assert len(store) == 2
    with ReferenceStore(tmp_path) as reopened:
        assert [r.label for r in reopened.references()] == ["seven", "three"]


def test_failed_add_stores_nothing(tmp_path, monkeypatch):
    store = ReferenceStore(tmp_path)
    store.add("keep", "digit", [_item(0.5)])
    broken = NewReference(np.zeros((4, 4, 3), np.uint8), np.zeros((28, 28), np.float32))
    original = sqlite3.Connection.execute
    calls = {"inserts": 0}

    def failing_execute(self, sql, *args):
        if sql.startswith("INSERT"):
            calls["inserts"] += 1
            if calls["inserts"] == 2:
                raise sqlite3.OperationalError("disk I/O error")
        return original(self, sql, *args)

    monkeypatch.setattr(store, "_db", _Proxy(store._db, failing_execute))
    with pytest.raises(sqlite3.OperationalError):
        store.add("new", "digit", [_item(0.1), broken])
    monkeypatch.undo()
    assert [r.label for r in store.references()] == ["keep"]
    assert len(list((tmp_path / "references").iterdir())) == 1


class _Proxy:
    def __init__(self, db, execute):
        self._db, self._execute = db, execute

    def execute(self, sql, *args):
        return self._execute(self._db, sql, *args)

    def __getattr__(self, name):
        return getattr(self._db, name)


def test_bad_label_and_kind_store_nothing(tmp_path):
    store = ReferenceStore(tmp_path)
    for label, kind in (("", "digit"), ("x" * 65, "digit"), ("a\nb", "digit"), ("ok", "animal")):
        with pytest.raises(ValueError):
            store.add(label, kind, [_item(0.1)])
    assert len(store) == 0 and not any((tmp_path / "references").iterdir())


def test_embeddings_are_cached_per_weights(tmp_path):
    store = ReferenceStore(tmp_path)
    store.add("a", "digit", [_item(0.1), _item(0.2)])
    calls = []

    def embed(inputs):
        calls.append(len(inputs))
        return inputs.reshape(len(inputs), -1)[:, :4] * 10

    first, _ids, labels = store.embeddings("digit", "sha-1", embed)
    again, _, _ = store.embeddings("digit", "sha-1", embed)
    assert calls == [2] and np.allclose(first, again) and labels == ["a", "a"]
    store.add("b", "digit", [_item(0.3)])
    store.embeddings("digit", "sha-1", embed)
    assert calls == [2, 1]  # only the new one
    store.embeddings("digit", "sha-2", embed)
    assert calls == [2, 1, 3]  # new weights: all again


def test_closing_waits_for_a_query_in_flight(tmp_path):
    # The analysis thread may still be embedding references when the app closes the store.
    store = ReferenceStore(tmp_path)
    store.add("seven", "digit", [_item(0.1)])
    started, proceed = threading.Event(), threading.Event()

    def slow_embed(inputs):
        started.set()
        proceed.wait()
        return np.ones((len(inputs), 4), np.float32)

    results = []
    reader = threading.Thread(target=lambda: results.append(store.embeddings("digit", "w", slow_embed)), daemon=True)
    reader.start()
    started.wait()
    closer = threading.Thread(target=store.close, daemon=True)
    closer.start()
    closer.join(0.2)
    held_back = closer.is_alive()
    proceed.set()
    reader.join(10)
    closer.join(10)
    assert held_back  # close waited until the query was done
    assert results[0][1] and results[0][2] == ["seven"]
    with pytest.raises(sqlite3.ProgrammingError):
        store.references()


def test_empty_store_has_no_embeddings(tmp_path):
    embeddings, ids, labels = ReferenceStore(tmp_path).embeddings("digit", "sha", lambda x: x)
    assert embeddings.shape[0] == 0 and ids == [] and labels == []


def test_damaged_database_is_named_and_left_alone(tmp_path):
    database = tmp_path / "references.sqlite3"
    database.write_bytes(b"this is not sqlite" * 100)
    before = database.read_bytes()
    with pytest.raises(StoreError, match=r"references\.sqlite3"):
        ReferenceStore(tmp_path)
    assert database.read_bytes() == before


def test_files_are_private(tmp_path):
    store = ReferenceStore(tmp_path / "data")
    store.add("a", "digit", [_item(0.1)])
    assert stat.S_IMODE((tmp_path / "data" / "references.sqlite3").stat().st_mode) == 0o600
    image = store.references()[0].image
    assert stat.S_IMODE(image.stat().st_mode) == 0o600


def test_rename_a_key(tmp_path):
    store = ReferenceStore(tmp_path)
    store.add("seven", "digit", [_item(0.1), _item(0.2)])
    store.add("three", "digit", [_item(0.3)])
    assert store.rename("seven", " lucky seven ") == 2
    assert sorted({r.label for r in store.references()}) == ["lucky seven", "three"]
    with pytest.raises(ValueError):
        store.rename("three", "")


def test_each_kind_keeps_its_own_input_shape_and_a_label_one_kind(tmp_path):
    with ReferenceStore(tmp_path) as store:
        with pytest.raises(ValueError, match="shape"):
            store.add("coin", "object", [_item(0.5)])  # a digit input
        assert store.kinds() == set()
        store.add("coin", "object", [_item(0.5, "object")])
        assert store.kinds() == {"object"}
        store.add("seven", "digit", [_item(0.2)])
        with pytest.raises(ValueError, match="already an object key"):
            store.add("coin", "digit", [_item(0.2)])
        with pytest.raises(ValueError, match="another kind"):
            store.rename("seven", "coin")
        assert store.kinds() == {"object", "digit"}
        kinds = {r.label: (r.kind, r.input.shape) for r in store.references()}
        assert kinds == {"coin": ("object", (48, 48, 3)), "seven": ("digit", (28, 28))}
        digits, _, digit_labels = store.embeddings("digit", "sha", lambda x: x.reshape(len(x), -1)[:, :4])
        objects, _, object_labels = store.embeddings("object", "sha", lambda x: x.reshape(len(x), -1)[:, :4])
        assert digit_labels == ["seven"] and object_labels == ["coin"]
        assert np.allclose(digits, 0.2) and np.allclose(objects, 0.5)


def test_a_version_1_store_gets_object_inputs_made_from_its_images(tmp_path):
    from conftest import object_frames

    frame = object_frames("b", 1, seed=4)[0]
    with ReferenceStore(tmp_path) as store:
        store.add("tag", "object", [NewReference(frame, np.zeros((48, 48, 3), np.float32))])
        store.add("seven", "digit", [_item(0.2)])
    # Make it what version 1 wrote: every input a 28x28 digit input, schema 1.
    database = sqlite3.connect(tmp_path / "references.sqlite3")
    database.execute("UPDATE reference SET input = ? WHERE kind = 'object'", (np.zeros(784, "<f4").tobytes(),))
    database.execute("PRAGMA user_version=1")
    database.commit()
    database.close()
    with ReferenceStore(tmp_path) as store:
        references = {r.label: r for r in store.references()}
        assert references["tag"].input.shape == (48, 48, 3) and references["tag"].input.max() > 0
        assert references["seven"].input.shape == (28, 28)
    database = sqlite3.connect(tmp_path / "references.sqlite3")
    assert database.execute("PRAGMA user_version").fetchone()[0] == 2
    database.close()
