"""The one message catalogue: complete in both languages, and every key the code names exists."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tds_dash import i18n
from tds_dash.i18n.catalogue import MESSAGES

ROOT = Path(__file__).resolve().parent.parent
# A whole literal key; a prefix completed at run time ("alarms.severity." + level) is not a key.
KEY_IN_CODE = re.compile(r"""i18n\.t\(\s*["']([a-zA-Z0-9_.]*[a-zA-Z0-9_])["']""")


def test_i18n001_every_key_has_both_languages():
    incomplete = {key: sorted(texts) for key, texts in MESSAGES.items() if set(texts) != set(i18n.LANGUAGES)}
    assert incomplete == {}
    assert all(text.strip() for texts in MESSAGES.values() for text in texts.values())


def test_i18n002_every_literal_key_in_the_code_is_in_the_catalogue():
    sources = [*ROOT.joinpath("tds_dash").rglob("*.py"), *ROOT.joinpath("pages").glob("*.py")]
    used = {key for path in sources for key in KEY_IN_CODE.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 100
    assert sorted(used - set(MESSAGES)) == []


def test_i18n003_labels_do_not_depend_on_import_order():
    """Importing only i18n gives every label, e.g. a page's navbar entry, before its module is imported."""
    code = ("from tds_dash import i18n; import sys; "
            "assert 'pages.rejected' not in sys.modules and 'tds_dash.fleet.gateway_list' not in sys.modules; "
            "print(i18n.t('nav.rejected', 'pt-BR'), i18n.t('gateways.title', 'en'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[0] == f"{MESSAGES['nav.rejected']['pt-BR']} {MESSAGES['gateways.title']['en']}"
