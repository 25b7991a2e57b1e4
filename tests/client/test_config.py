"""The settings file: round trip, atomic write, corrupt and invalid files."""

from __future__ import annotations

from pathlib import Path

from voip.client.config import (
    CONFIG_FILE,
    ClientConfig,
    config_path,
    load_config,
    save_config,
)
from voip.client.state import TransmissionMode


def test_missing_file_gives_defaults_without_complaint(tmp_path: Path) -> None:
    assert load_config(tmp_path) == (ClientConfig(), None)


def test_round_trip(tmp_path: Path) -> None:
    config = ClientConfig(
        last_server="example.org:7731",
        display_name="bob",
        input_device="Mic",
        output_device=None,
        input_volume=1.5,
        output_volume=0.25,
        transmission_mode=TransmissionMode.VOICE_ACTIVATED,
        vad_threshold_db=-33.0,
        ptt_key="ctrl",
    )
    save_config(tmp_path, config)
    assert load_config(tmp_path) == (config, None)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_file_is_kept_as_bak_and_defaults_used(tmp_path: Path) -> None:
    path = config_path(tmp_path)
    path.write_text("this is = = not toml")
    config, problem = load_config(tmp_path)
    assert config == ClientConfig()
    assert problem is not None and "corrupt" in problem and ".bak" in problem
    assert (tmp_path / (CONFIG_FILE + ".bak")).read_text() == "this is = = not toml"
    assert not path.exists()


def test_bad_values_are_skipped_and_reported(tmp_path: Path) -> None:
    config_path(tmp_path).write_text(
        'display_name = "amy"\ninput_volume = "loud"\ntransmission_mode = "shout"\n'
        "output_volume = 7\nfavourite_colour = 3\n"
    )
    config, problem = load_config(tmp_path)
    assert config.display_name == "amy"
    assert config.input_volume == 1.0 and config.output_volume == 2.0  # clamped
    assert config.transmission_mode is TransmissionMode.PUSH_TO_TALK
    assert problem is not None
    for words in ("input_volume", "transmission_mode", "favourite_colour"):
        assert words in problem
