"""Customer search (api.md §6): the query language and the token index it reads."""
