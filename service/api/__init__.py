"""The HTTP API (API.md, extended): one router module per concept.

Routes validate their parameters, ask the DecisionService or the log, and
render the answer; none evaluates a screening or writes SQL itself.
"""
