"""Records kept in the one database beside cases: answer feedback (`feedback`), processed inbound events
(`events`) and API keys (`api_keys`), with their tables in `rows`.

They share the case store's engine and migrations (`assistant.database`): one database to back up and to
scale out.
"""
