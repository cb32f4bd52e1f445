"""docs/configuration.md is generated from Settings and kept in sync with it."""

from pathlib import Path


def test_configuration_md_documents_every_setting():
    from diarize_service.config_docs import render_configuration_md

    text = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    assert text.strip() == render_configuration_md().strip(), (
        "regenerate: python -m diarize_service.config_docs > docs/configuration.md"
    )


def test_every_setting_has_a_row_under_a_section():
    from diarize_service.config import Settings
    from diarize_service.config_docs import render_configuration_md

    text = render_configuration_md()
    for name in Settings.model_fields:
        assert f"| `{name.upper()}` |" in text
    assert "## Models" in text and "## Service" in text
