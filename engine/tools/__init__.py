"""Policy staff's tools beside the engine's pipeline: golden cases, static checks,
exhaustive verification, impact analysis, the input space and comparisons.

The tools import the engine; the engine never imports the tools."""
