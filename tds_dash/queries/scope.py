"""The viewer's scope: which accounts a read may see. Every query takes one."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Scope:
    """account_ids=None means every account (an administrator, or the single-tenant demo)."""

    account_ids: tuple[int, ...] | None = None

    def restrict(self, account_id: int | None) -> "Scope":
        """Narrow to one account chosen in the UI; an account outside the scope yields an empty scope."""
        if account_id is None:
            return self
        if self.account_ids is not None and account_id not in self.account_ids:
            return Scope(account_ids=())
        return Scope(account_ids=(account_id,))

    def params(self) -> dict:
        """Bound parameters for IN_SCOPE."""
        return {"all_accounts": self.account_ids is None, "account_ids": list(self.account_ids or ())}


ALL_ACCOUNTS = Scope()

# Appended (as a constant, never with user input) to every scoped query; the sub-select keeps the
# planner on the (account_id, ...) indexes even when the scope is "all accounts".
IN_SCOPE = "IN (SELECT id FROM accounts WHERE (:all_accounts OR id = ANY(:account_ids)))"
