"""Kinds of key: each one module, and everything that goes by kind agrees with it."""

import numpy as np
import pytest

from unlock_app.core.camera import DemoCamera
from unlock_app.core.kinds import KINDS
from unlock_app.core.model_card import ModelCard, card_path
from unlock_app.core.settings import KEYS, Settings, with_value


@pytest.mark.parametrize("name", list(KINDS))
def test_a_kind_agrees_with_its_shipped_model_card(name):
    kind = KINDS[name]
    card = ModelCard.read(card_path(KINDS[name].shipped_weights))
    assert (card.kind, card.architecture, card.input_size) == (name, kind.architecture, kind.input_shape[0])


@pytest.mark.parametrize(("name", "shown"), [("digit", 7), ("object", "c")])
def test_a_kinds_preprocessing_gives_its_input_shape(name, shown):
    subject = KINDS[name].preprocess(DemoCamera(shown, seed=3, fps=0).read(), "dark")
    assert subject.found and subject.input.shape == KINDS[name].input_shape and subject.input.dtype == np.float32
    assert not KINDS[name].preprocess(DemoCamera(None, seed=3, fps=0).read(), "dark").found  # an empty desk


def test_every_kind_has_a_threshold_setting_of_its_own():
    assert [key for key in KEYS if key.startswith("thresholds.")] == [f"thresholds.{name}" for name in KINDS]
    settings = Settings()
    for value, name in enumerate(KINDS, start=1):
        settings = with_value(settings, f"thresholds.{name}", value / 10)
    assert settings.thresholds == {name: value / 10 for value, name in enumerate(KINDS, start=1)}
