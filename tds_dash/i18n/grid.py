"""AG Grid's own texts (pagination, "no rows", filters, menus) in pt-BR and en, for every grid's dashGridOptions."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

# grid_locale.json is AG Grid's own translation (npm @ag-grid-community/locale 35.3.1, MIT, AG_GRID_LOCALE_BR
# and AG_GRID_LOCALE_EN), matching dash-ag-grid 35.3's grid; regenerate it when dash-ag-grid moves.
_LOCALE_FILE = Path(__file__).with_name("grid_locale.json")

# Where the package's wording reads unnatural in a Brazilian product.
_OVERRIDES = {
    "pt-BR": {"noRowsToShow": "Nenhuma linha para mostrar", "pageSizeSelectorLabel": "Linhas por página:",
              "loadingOoo": "Carregando…", "searchOoo": "Pesquisar…"},
    "en": {},
}


@cache
def locale_text(language: str) -> dict[str, str]:
    """AG Grid's localeText for language (pt-BR unless 'en')."""
    language = "en" if language == "en" else "pt-BR"
    table = json.loads(_LOCALE_FILE.read_text(encoding="utf-8"))[language]
    return {**table, **_OVERRIDES[language]}


def grid_options(language: str, **options) -> dict:
    """dashGridOptions with the grid's own texts in language, plus the page's options."""
    # A floor under flex columns: on a phone the grid scrolls sideways inside its card instead of
    # squeezing every column to a few letters.
    return {"localeText": locale_text(language), "defaultColDef": {"minWidth": 100}, **options}
