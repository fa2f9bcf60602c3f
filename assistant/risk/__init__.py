"""Deal risk: triage signals, policy and restricted-party screening."""
