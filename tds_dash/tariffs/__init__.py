"""Tariffs and cost: the tariff model, its validation, the exact cost engine and the cost queries.

model (typed rows), validation (user input → model), calendar (day types and holidays), engine (pure
pricing), money (display rounding), queries (SQL), service (what pages and routes call).
"""
