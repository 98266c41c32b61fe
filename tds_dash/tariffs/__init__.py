"""Tariffs and cost: the tariff model, its validation, the exact cost engine and the cost queries.

model (typed rows), validation (user input → model), calendar (day types and holidays), engine (pure
pricing), money (display rounding), queries (SQL), preview (a month under a draft version), service (what
pages and routes call), view (the Tarifas page's pieces).
"""
