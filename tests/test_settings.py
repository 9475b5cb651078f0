"""One Settings: the CLI, the Dagster resource and the environment build the same one, each default
is written once (claimback/settings.py), and the README's settings table is generated from it."""
from __future__ import annotations

from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest

from pipelines.defs.resources import ClaimbackResource, from_environment
from claimback import settings as settings_module
from claimback.settings import Settings, config_from_environment
from pipelines.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 20)


def test_the_readme_settings_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    assert settings_module.with_settings_table(readme) == readme, (
        "README.md's settings table differs from claimback/settings.py: run `make readme-settings` "
        "(python -m claimback.settings README.md) and commit the result")


def test_every_setting_appears_in_the_readme_table():
    table = settings_module.settings_table()
    for f in fields(Settings):
        assert f"| `{f.name}` |" in table
        assert f.metadata["what"] in table


def test_the_cli_the_resource_and_the_environment_build_the_same_settings(tmp_path):
    rules = tmp_path / "rules.yaml"
    args = build_parser().parse_args(["run", "--inbox", "in", "--warehouse", "wh", "--as-of", "2026-11-20",
                                      "--payer-rules", str(rules), "--deidentify", "--batch-files", "7"])
    from_cli = Settings(inbox=Path(args.inbox), warehouse=Path(args.warehouse), as_of=DAY,
                        payer_rules=Path(args.payer_rules), deidentify=args.deidentify, batch_files=args.batch_files)
    environ = {"CLAIMBACK_INBOX": "in", "CLAIMBACK_WAREHOUSE": "wh", "CLAIMBACK_AS_OF": "2026-11-20",
               "CLAIMBACK_PAYER_RULES": str(rules), "CLAIMBACK_DEIDENTIFY": "1", "CLAIMBACK_BATCH_FILES": "7"}
    from_env = ClaimbackResource(**config_from_environment(environ)).settings()
    from_run_config = ClaimbackResource(**from_cli.as_config()).settings()
    assert from_cli == from_env == from_run_config
    assert from_env.provider_profile is None and from_env.recoupment_wait_days == 30


def test_defaults_are_the_same_everywhere(monkeypatch):
    defaults = settings_module.defaults()
    assert defaults["batch_files"] == 250
    run = build_parser().parse_args(["run", "--inbox", "i", "--warehouse", "w"])
    resource = ClaimbackResource(inbox="i", warehouse="w")
    for name, value in defaults.items():
        assert getattr(resource, name) in (value, ""), name  # paths and dates: '' in the run config
        assert getattr(resource.settings(), name) == value, name
        if Settings.flag(name):
            assert getattr(run, name) in (value, None), name
    for f in fields(Settings):
        if f.metadata["env"]:
            monkeypatch.delenv(f.metadata["env"], raising=False)
    unset = from_environment().settings()
    assert (unset.inbox, unset.warehouse, unset.batch_files) == (Path("data/inbox"), Path("data/warehouse"), 250)
    assert unset.as_of == date.today()


def test_the_resource_has_a_config_field_per_setting():
    assert set(ClaimbackResource.model_fields) == {f.name for f in fields(Settings)}


def test_a_deidentify_variable_that_says_no_leaves_it_off():
    for text in ("", "0", "false", "no"):
        config = config_from_environment({"CLAIMBACK_DEIDENTIFY": text})
        assert ClaimbackResource(**config).settings().deidentify is False


@pytest.mark.parametrize("bad", [{"batch_files": 0}, {"as_of": date(9999, 12, 31)}])
def test_impossible_settings_are_refused(bad):
    with pytest.raises(ValueError):
        Settings(**{"inbox": Path("i"), "warehouse": Path("w"), "as_of": DAY, **bad})


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        Settings(inbox=Path("i"), warehouse=Path("w"), as_of=DAY).batch_files = 3
