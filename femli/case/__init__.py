"""The case file: schema, loading and checks, and the objects a case builds.

``schema`` (the pydantic models alone), ``load`` (TOML -> a validated case), ``rules``
(cross-field checks), ``preflight`` (checks against geometry, mesh file and output
folder), ``build`` (a validated case -> domain, model, options) and ``messages`` (one
line per problem).
"""
