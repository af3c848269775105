"""The case file: schema, loading and checks, and the objects a case builds.

``schema`` (the pydantic models alone), ``checks`` (TOML -> a validated case, with the
cross-field checks), ``preflight`` (checks against geometry, mesh file and output
folder) and ``build`` (a validated case -> domain, model, options); the one-line
messages per problem are :mod:`femli.messages`.
"""

__all__: list[str] = []
