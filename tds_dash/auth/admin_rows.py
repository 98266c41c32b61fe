"""Labels and table rows for the admin and token pages."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from tds_dash import i18n

ADMIN_MESSAGES = {
    "nav.admin": {"pt-BR": "Administração", "en": "Admin"},
    "nav.tokens": {"pt-BR": "Tokens de API", "en": "API tokens"},
    "admin.title": {"pt-BR": "Usuários e contas", "en": "Users and accounts"},
    "admin.forbidden": {"pt-BR": "Acesso restrito a administradores.", "en": "Administrators only."},
    "admin.username": {"pt-BR": "Usuário", "en": "Username"},
    "admin.name": {"pt-BR": "Nome", "en": "Name"},
    "admin.role": {"pt-BR": "Papel", "en": "Role"},
    "admin.accounts": {"pt-BR": "Contas", "en": "Accounts"},
    "admin.password": {"pt-BR": "Senha (mín. 10)", "en": "Password (min. 10)"},
    "admin.active": {"pt-BR": "Ativo", "en": "Active"},
    "admin.create": {"pt-BR": "Criar usuário", "en": "Create user"},
    "admin.update": {"pt-BR": "Salvar selecionado", "en": "Save selected"},
    "admin.reset": {"pt-BR": "Redefinir senha", "en": "Reset password"},
    "admin.created": {"pt-BR": "Usuário criado.", "en": "User created."},
    "admin.saved": {"pt-BR": "Alterações salvas.", "en": "Changes saved."},
    "admin.select": {"pt-BR": "Selecione um usuário na tabela.", "en": "Select a user in the table."},
    "admin.audit": {"pt-BR": "Registro de auditoria", "en": "Audit log"},
    "tokens.title": {"pt-BR": "Meus tokens de API", "en": "My API tokens"},
    "tokens.name": {"pt-BR": "Nome do token", "en": "Token name"},
    "tokens.create": {"pt-BR": "Criar token", "en": "Create token"},
    "tokens.revoke": {"pt-BR": "Revogar selecionado", "en": "Revoke selected"},
    "tokens.shown_once": {"pt-BR": "Copie agora; ele não será mostrado de novo:",
                          "en": "Copy it now; it will not be shown again:"},
    "tokens.revoked": {"pt-BR": "Token revogado.", "en": "Token revoked."},
}


def user_rows(users, slugs: dict[int, str]) -> list[dict]:
    return [{"id": u.id, "username": u.username, "name": u.name, "role": u.role, "active": u.active,
             "accounts": ", ".join(slugs.get(a, str(a)) for a in u.account_ids)} for u in users]


def audit_rows(entries: list[dict], zone: ZoneInfo, language: str) -> list[dict]:
    return [{"at": i18n.format_datetime(e["at"], zone, language), "username": e["username"], "action": e["action"],
             "entity": e["entity"], "entity_id": e["entity_id"],
             "change": json.dumps({"before": e["before"], "after": e["after"]}, ensure_ascii=False, default=str)
             if e["before"] or e["after"] else ""} for e in entries]


def token_rows(tokens: list[dict], zone: ZoneInfo, language: str) -> list[dict]:
    return [{"id": t["id"], "name": t["name"], "prefix": t["prefix"] + "…",
             "created": i18n.format_datetime(t["created_at"], zone, language),
             "last_used": i18n.format_datetime(t["last_used_at"], zone, language),
             "revoked": i18n.format_datetime(t["revoked_at"], zone, language) if t["revoked_at"] else ""}
            for t in tokens]
