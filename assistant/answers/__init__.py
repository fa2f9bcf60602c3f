"""Answers: composing cited answers from retrieved passages, and refusing when evidence is weak."""
