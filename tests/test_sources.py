"""Where the lab's fonts and photographs come from, and that the parts never share one."""

from pathlib import Path

import numpy as np
import pytest

from unlock_app.lab import sources


def test_a_picture_keeps_its_part_and_the_parts_share_it_out_three_one_one():
    names = [f"package/picture-{i}" for i in range(2000)]
    parts = [sources.photo_part(name) for name in names]
    assert parts == [sources.photo_part(name) for name in names]  # fixed by the name alone
    shares = {part: parts.count(part) / len(parts) for part in sources.PARTS}
    assert shares["train"] == pytest.approx(0.6, abs=0.04)
    assert shares["tune"] == pytest.approx(0.2, abs=0.03) and shares["test"] == pytest.approx(0.2, abs=0.03)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/usr/share/wallpapers/Altai/contents/images/1920x1080.jpg", "plasma/altai"),
        ("/usr/share/wallpapers/Altai/contents/images_dark/5120x2880.jpg", "plasma/altai"),
        ("/usr/share/backgrounds/mate/nature/Elephants_3840x2160.jpg", "plasma/elephants"),
        ("/usr/share/backgrounds/gnome/adwaita-d.webp", "plasma/adwaita"),
    ],
)
def test_every_size_and_variant_of_a_picture_has_one_name(path, name):
    assert sources._picture_name("plasma", Path(path)) == name


def test_the_parts_share_no_font_package_and_no_photograph():
    packages = [set(sources.FONT_PACKAGES[part]) for part in sources.PARTS]
    assert not (packages[0] & packages[1] or packages[0] & packages[2] or packages[1] & packages[2])
    photos = [{photo.name for photo in sources.photos(part)} for part in sources.PARTS]
    assert all(photos) and not (photos[0] & photos[1] or photos[0] & photos[2] or photos[1] & photos[2])
    fonts = [set(sources.fonts(part)) for part in sources.PARTS]
    assert all(fonts) and not (fonts[0] & fonts[1] or fonts[0] & fonts[2] or fonts[1] & fonts[2])


def test_the_reserved_fonts_and_photographs_are_never_read():
    every_font = [path.name.lower() for part in sources.PARTS for path in sources.fonts(part)]
    assert not any("dejavu" in name for name in every_font)
    every_photo = [str(photo.path) for part in sources.PARTS for photo in sources.photos(part)]
    assert not any(word in path for path in every_photo for word in ("sklearn", "skimage", "matplotlib"))


def test_a_missing_package_says_how_to_install_the_data(monkeypatch):
    real = sources._files_of
    monkeypatch.setattr(sources, "_files_of", lambda name: () if name == "fonts-lato" else real(name))
    with pytest.raises(sources.LabDataError, match=r"fonts-lato.*python -m unlock_app.lab.sources install"):
        sources.fonts("train")


def test_a_photograph_is_read_small_enough_and_without_its_transparency(tmp_path):
    import cv2

    picture = np.zeros((1000, 3000, 4), np.uint8)
    picture[:, :, 2] = 200  # red where opaque
    picture[:, 1500:, 3] = 255  # the left half transparent
    path = tmp_path / "picture.png"
    cv2.imwrite(str(path), picture)
    photo = sources.load_photo(path)
    assert photo.shape == (427, 1280, 3)
    assert (photo[:, :600] == 255).all() and (photo[:, 700:, 2] == 200).all()


def test_list_names_each_parts_packages_and_photographs(capsys):
    assert sources.main(["list"]) == 0
    out = capsys.readouterr().out
    for part in sources.PARTS:
        assert f"{part}: {len(sources.fonts(part))} fonts" in out
        assert sources.FONT_PACKAGES[part][0] in out and sources.photos(part)[0].name in out


def test_install_says_what_it_installed_and_a_failure_is_passed_on(monkeypatch, capsys):
    monkeypatch.setattr(sources, "install", lambda: 0)
    assert sources.main(["install"]) == 0
    assert "train: " in capsys.readouterr().out
    monkeypatch.setattr(sources, "install", lambda: 100)  # apt-get's own failure
    assert sources.main(["install"]) == 100
    assert capsys.readouterr().out == ""
    assert sources.main(["remove"]) == 2
    assert "usage" in capsys.readouterr().err
